// shfn graph SPEC...: the topology `shfn run SPEC...` builds, as a picture (flow/graph.h):
// Graphviz DOT, Mermaid, or an SVG laid out by shfn itself. Without SPEC, what a running
// `shfn run` runs now, as its admin port's /graph draws it.

#include "flow/graph.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/admin_client.h"
#include "cli/common.h"
#include "config/spec.h"
#include "flow/graph_layout.h"
#include "flow/plan.h"

namespace shfn::cli {
namespace {

struct graph_flags {
  std::vector<std::string> specs;  // none: ask the running shfn at admin.url
  std::string format = "svg";
  std::string output;  // a file; empty: stdout
  admin_flags admin;
};

int write_out(const graph_flags& f, const std::string& text) {
  if (f.output.empty()) {
    fmt::print("{}", text);
    std::fflush(stdout);
    return 0;
  }
  std::ofstream out(f.output, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    fmt::print(stderr, "shfn graph: cannot write {}\n", f.output);
    return 1;
  }
  return 0;
}

std::string drawn(const flow::graph& g, const std::string& format) {
  if (format == "dot") return flow::to_dot(g);
  if (format == "mermaid") return flow::to_mermaid(g);
  return flow::to_svg(g, flow::lay_out(g));
}

int draw(const graph_flags& f) {
  auto specs = config::load_files(f.specs);
  if (!specs) {
    for (const auto& e : specs.error()) fmt::print(stderr, "{}\n", e.to_string());
    return 1;
  }
  flow::plan all;
  for (const auto& spec : *specs) flow::append(all, flow::make_plan(spec));
  return write_out(f, drawn(flow::graph_of(all), f.format));
}

asio::awaitable<int> draw_running(graph_flags f) {
  auto reply = co_await admin_call(f.admin, "GET", "/graph?format=" + f.format);
  if (!reply) {
    fmt::print(stderr, "shfn graph: {}\n", reply.error());
    co_return 1;
  }
  co_return write_out(f, reply->body);
}

}  // namespace

void setup_graph(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<graph_flags>();
  auto* cmd = app.add_subcommand(
      "graph",
      "Draw what `shfn run SPEC...` builds: sources, functions, flows and their stages, every "
      "topic, replies and dead-letter paths");
  cmd->add_option("spec", f->specs,
                  "Spec files (multi-document YAML); none: what the shfn run at --admin-url runs");
  cmd->add_option("--format,-f", f->format,
                  "svg (laid out by shfn, self-contained), dot (Graphviz) or mermaid")
      ->check(CLI::IsMember({"svg", "dot", "mermaid"}, CLI::ignore_case))
      ->transform(CLI::IsMember({"svg", "dot", "mermaid"}, CLI::ignore_case));
  cmd->add_option("--output,-o", f->output, "Write to this file instead of stdout");
  f->admin.add_to(*cmd, "http://127.0.0.1:8081", "shfn run's admin URL (without SPEC)");
  cmd->callback([f, &exit_code] {
    exit_code = f->specs.empty() ? run([f] { return draw_running(*f); }) : draw(*f);
  });
}

}  // namespace shfn::cli
