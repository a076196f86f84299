#include "flow/graph.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <string_view>

namespace shfn::flow {
namespace {

using node_kind = graph::node_kind;
using edge_kind = graph::edge_kind;

constexpr std::string_view default_namespace = "persistent://public/default/";
constexpr std::size_t detail_max = 40;  // characters of a command shown under a stage's name

// A topic as people write it in a spec: the short name in public/default, else in full.
std::string topic_label(const std::string& topic) {
  if (topic.starts_with(default_namespace)) return topic.substr(default_namespace.size());
  return topic;
}

std::string shortened(std::string text) {
  if (text.size() <= detail_max) return text;
  // Cut before a character, never inside one: the SVG must stay UTF-8.
  std::size_t keep = detail_max - 3;
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  text.resize(keep);
  return text + "...";
}

// What a stage runs, in a few words: the built-in step's kind (and uri), the script's file
// name, or the command (a `command: STRING`'s string, not the bash -c around it).
std::string command_detail(const std::vector<std::string>& argv) {
  if (argv.size() >= 3 && argv[0] == "bash" && argv[1] == "-c") return shortened(argv[2]);
  std::string joined;
  for (const auto& arg : argv) joined += (joined.empty() ? "" : " ") + arg;
  return shortened(joined);
}

std::string stage_detail(const stage& s) {
  const std::string& def = s.step_definition;
  if (def.starts_with("filter ")) return "filter";
  if (def.starts_with("uri ")) return shortened("POST " + def.substr(4, def.rfind(' ') - 4));
  if (!def.empty()) return def;
  if (!s.spec.script.empty()) return std::filesystem::path(s.spec.script).filename().string();
  return command_detail(s.spec.argv);
}

// A cron source's schedule, or the command a command source runs.
std::string source_detail(const source_spec& s) {
  if (const auto* cron = std::get_if<config::cron_source_spec>(&s))
    return shortened("every " + cron->schedule);
  return command_detail(std::get<config::command_source_spec>(s).argv);
}

class builder {
 public:
  graph build(const plan& p) {
    for (const auto& c : p.sources) {
      const std::size_t source = add({.kind = node_kind::source,
                                      .name = name_of(c),
                                      .label = name_of(c),
                                      .detail = source_detail(c)});
      link(source, topic(sink_of(c).topic), edge_kind::data);
    }
    for (const auto& s : p.stages) add_stage(s);
    return std::move(g_);
  }

 private:
  void add_stage(const stage& s) {
    const std::size_t at = add({.kind = node_kind::stage,
                                .name = s.spec.name,
                                .label = s.spec.name,
                                .detail = stage_detail(s),
                                .flow = s.flow});
    for (const auto& in : s.spec.inputs) link(topic(in), at, edge_kind::data);
    if (!s.spec.topics_pattern.empty()) link(topic(s.spec.topics_pattern), at, edge_kind::data);
    if (!s.spec.output.empty()) link(at, topic(s.spec.output), edge_kind::data);
    // Without a dead-letter topic of its own, a message goes to its input's default one
    // (function::output_publisher::dead_letter_topic_for).
    if (!s.spec.dead_letter_topic.empty()) {
      link(at, topic(s.spec.dead_letter_topic), edge_kind::dead_letter);
    } else {
      for (const auto& in : s.spec.inputs)
        link(at, topic(in + "-" + s.spec.subscription_name + "-DLQ"), edge_kind::dead_letter);
    }
    if (!s.spec.log_topic.empty()) link(at, topic(s.spec.log_topic), edge_kind::log);
  }

  std::size_t topic(const std::string& name) {
    if (auto it = topics_.find(name); it != topics_.end()) return it->second;
    const std::size_t at =
        add({.kind = node_kind::topic, .name = name, .label = topic_label(name)});
    topics_.emplace(name, at);
    return at;
  }

  std::size_t add(graph::node n) {
    g_.nodes.push_back(std::move(n));
    return g_.nodes.size() - 1;
  }

  void link(std::size_t from, std::size_t to, edge_kind kind) {
    g_.edges.push_back({.from = from, .to = to, .kind = kind});
  }

  graph g_;
  std::map<std::string, std::size_t> topics_;
};

// A label inside double quotes, for DOT (\" and \\) and Mermaid (#quot;, a backslash as it is).
std::string quoted(std::string_view text, std::string_view quote, std::string_view backslash) {
  std::string out;
  for (char c : text) {
    if (c == '"') {
      out += quote;
    } else if (c == '\\') {
      out += backslash;
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

graph graph_of(const plan& p) {
  return builder{}.build(p);
}

std::string to_dot(const graph& g) {
  std::string out =
      "digraph shfn {\n  rankdir=LR;\n  node [fontname=\"sans-serif\", fontsize=11];\n";
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const auto& n = g.nodes[i];
    std::string label = quoted(n.label, "\\\"", "\\\\");
    if (!n.detail.empty()) label += "\\n" + quoted(n.detail, "\\\"", "\\\\");
    const char* shape = n.kind == node_kind::topic    ? "cylinder"
                        : n.kind == node_kind::source ? "ellipse"
                                                      : "box, style=rounded";
    out += fmt::format("  n{} [label=\"{}\", shape={}];\n", i, label, shape);
  }
  for (const auto& e : g.edges) {
    const char* style = e.kind == edge_kind::dead_letter ? " [style=dashed, color=firebrick]"
                        : e.kind == edge_kind::log       ? " [style=dotted, color=gray40]"
                                                         : "";
    out += fmt::format("  n{} -> n{}{};\n", e.from, e.to, style);
  }
  return out + "}\n";
}

std::string to_mermaid(const graph& g) {
  std::string out = "flowchart LR\n";
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const auto& n = g.nodes[i];
    std::string label = quoted(n.label, "#quot;", "\\");
    if (!n.detail.empty()) label += "<br/>" + quoted(n.detail, "#quot;", "\\");
    // A topic is a cylinder, a stage a rounded box, a source a stadium.
    const auto [open, close] = n.kind == node_kind::topic    ? std::pair{"[(\"", "\")]"}
                               : n.kind == node_kind::source ? std::pair{"([\"", "\"])"}
                                                             : std::pair{"(\"", "\")"};
    out += fmt::format("  n{}{}{}{}\n", i, open, label, close);
  }
  for (const auto& e : g.edges) {
    const char* arrow = e.kind == edge_kind::data          ? "-->"
                        : e.kind == edge_kind::dead_letter ? "-. dead letter .->"
                                                           : "-. log .->";
    out += fmt::format("  n{} {} n{}\n", e.from, arrow, e.to);
  }
  return out;
}

}  // namespace shfn::flow
