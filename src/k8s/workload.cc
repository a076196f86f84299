#include "k8s/workload.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "k8s/documents.h"
#include "k8s/quantity.h"

namespace shfn::k8s {

namespace {

namespace fs = std::filesystem;

// The directory relative paths in the spec start at, as config::load_file computes it.
fs::path spec_dir(const std::string& path) {
  std::error_code ec;
  fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  if (ec) dir = fs::path(path).parent_path();
  return dir.lexically_normal();
}

// `p` relative to `dir` when it is inside it ("" for `dir` itself), else nullopt.
std::optional<std::string> inside(const fs::path& p, const fs::path& dir) {
  const auto rel = fs::path(p).lexically_normal().lexically_relative(dir);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  return rel == "." ? std::string() : rel.generic_string();
}

std::optional<std::string> read_bytes(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    error = fmt::format("cannot read {}: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  return bytes;
}

bool has_inputs(const config::function_spec& fn) {
  return !fn.inputs.empty() || !fn.topics_pattern.empty();
}

bool before(const config::location& a, const config::location& b) {
  return std::pair(a.line, a.column) < std::pair(b.line, b.column);
}

// The larger of two quantities. Empty is the smallest as a request (nothing asked for) and the
// largest as a limit (no limit).
std::string larger(const std::string& a, const std::string& b, bool empty_is_unlimited) {
  if (a.empty() || b.empty()) return (a.empty() == empty_is_unlimited) ? a : b;
  const auto va = quantity_value(a);
  const auto vb = quantity_value(b);
  if (!va || !vb) return va ? a : b;  // config has checked them; keep the one that parses
  return *vb > *va ? b : a;
}

// Resources that cover both: a flow pod runs all its steps, so it gets, for each request and
// limit, the largest any of them asks for.
void cover(config::deploy_spec& pod, const config::deploy_spec& step) {
  pod.requests.cpu = larger(pod.requests.cpu, step.requests.cpu, false);
  pod.requests.memory = larger(pod.requests.memory, step.requests.memory, false);
  pod.limits.cpu = larger(pod.limits.cpu, step.limits.cpu, true);
  pod.limits.memory = larger(pod.limits.memory, step.limits.memory, true);
}

// A Parallel, Sequence, cron source, Broker or channel as far as deploying it goes: what it
// refers to. A Broker's Triggers and a channel's Subscriptions run in its pods.
struct flow_node {
  std::string name;
  std::string component;  // "flow", "source", "broker" or "channel"
  config::location where;
  std::vector<std::string> steps;  // the Functions it runs (filters, subscribers, steps)
  std::vector<std::string> sinks;  // what its replies, sinks and dead-letter sinks name
  bool runs_commands = false;      // an inline `command` step: a process of the flow's own
  bool ingress = false;            // a Broker or channel: its pods serve the HTTP ingress
};

void add_step(const config::step_spec& s, flow_node& n) {
  if (s.type == config::step_spec::kind::function) n.steps.push_back(s.function);
  if (s.type == config::step_spec::kind::command) n.runs_commands = true;
}

void add_sink(const config::sink_spec& s, flow_node& n) {
  if (!s.ref.empty()) n.sinks.push_back(s.ref);
}

std::vector<flow_node> flow_nodes(const config::spec_file& spec) {
  std::vector<flow_node> out;
  for (const auto& p : spec.parallels) {
    flow_node n{.name = p.name, .component = "flow", .where = p.where};
    for (const auto& b : p.branches) {
      if (b.filter) add_step(*b.filter, n);
      add_step(b.subscriber, n);
      add_sink(b.reply, n);
      add_sink(b.delivery.dead_letter, n);
    }
    add_sink(p.reply, n);
    out.push_back(std::move(n));
  }
  for (const auto& s : spec.sequences) {
    flow_node n{.name = s.name, .component = "flow", .where = s.where};
    for (const auto& st : s.steps) {
      add_step(st.step, n);
      add_sink(st.delivery.dead_letter, n);
    }
    add_sink(s.reply, n);
    out.push_back(std::move(n));
  }
  for (const auto& c : spec.cron_sources) {
    flow_node n{.name = c.name, .component = "source", .where = c.where};
    add_sink(c.sink, n);
    out.push_back(std::move(n));
  }
  // Its command runs in the pod, from the spec's directory (/app) like a Function's script; its
  // K_SINK is the pod's own ingress on 127.0.0.1, which `shfn run` serves unasked.
  for (const auto& c : spec.command_sources) {
    flow_node n{.name = c.name, .component = "source", .where = c.where, .runs_commands = true};
    add_sink(c.sink, n);
    out.push_back(std::move(n));
  }
  // `shfn run --only BROKER` runs its Triggers too: their documents go with it.
  for (const auto& b : spec.brokers) {
    flow_node n{.name = b.name, .component = "broker", .where = b.where, .ingress = true};
    if (b.delivery) add_sink(b.delivery->dead_letter, n);
    for (const auto& t : spec.triggers) {
      if (t.broker != b.name) continue;
      n.sinks.push_back(t.name);
      add_step(t.subscriber, n);
      add_sink(t.delivery.dead_letter, n);
    }
    out.push_back(std::move(n));
  }
  for (const auto& c : spec.channels) {
    flow_node n{.name = c.name, .component = "channel", .where = c.where, .ingress = true};
    if (c.delivery) add_sink(c.delivery->dead_letter, n);
    for (const auto& s : spec.subscriptions) {
      if (s.channel != c.name) continue;
      n.sinks.push_back(s.name);
      add_step(s.subscriber, n);
      add_sink(s.reply, n);
      add_sink(s.delivery.dead_letter, n);
    }
    out.push_back(std::move(n));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const flow_node& a, const flow_node& b) { return before(a.where, b.where); });
  return out;
}

// Every document name a spec holds.
std::set<std::string> names_in(const config::spec_file& spec) {
  std::set<std::string> out;
  for (const auto& fn : spec.functions) out.insert(fn.name);
  for (const auto& d : config::flow_documents(spec)) out.insert(d.name);
  return out;
}

bool starts_with_marker(std::string_view text) {
  return text.starts_with("---") && (text.size() == 3 || text[3] == ' ' || text[3] == '\t' ||
                                     text[3] == '\r' || text[3] == '\n');
}

// Documents cut out of one file, in file order, as one file: a document that followed a "..."
// in the original may have had no "---" of its own, and needs one once its neighbour changes.
std::string join(std::vector<document_text> docs) {
  std::sort(docs.begin(), docs.end(),
            [](const auto& a, const auto& b) { return a.first_line < b.first_line; });
  std::string out;
  for (const auto& d : docs) {
    if (!out.empty() && !out.ends_with('\n')) out += '\n';
    if (!out.empty() && !starts_with_marker(d.text)) out += "---\n";
    out += d.text;
  }
  return out;
}

class builder {
 public:
  builder(const config::spec_file& spec, std::string_view source,
          std::vector<config::spec_error>& errors)
      : spec_(spec),
        source_(source),
        dir_(spec_dir(spec.path)),
        spec_path_(fs::path(spec.path).filename().string()),
        flows_(flow_nodes(spec)),
        errors_(errors) {
    for (const auto& fn : spec_.functions) functions_.emplace(fn.name, &fn);
    for (const auto& f : flows_) flows_by_name_.emplace(f.name, &f);
  }

  const std::vector<flow_node>& flows() const { return flows_; }

  std::optional<workload> function(const config::function_spec& fn) {
    workload w{.name = fn.name,
               .component = "function",
               .where = fn.where,
               .field = fn.name + ".metadata.name",
               .spec_path = spec_path_,
               .replicas = fn.parallelism,
               .deploy = fn.deploy,
               .kill_grace = fn.kill_grace};
    auto doc = own_document(fn);
    if (!doc) return std::nullopt;
    const auto* files = function_files(fn);
    if (files == nullptr) return std::nullopt;
    w.files.push_back({.path = w.spec_path, .content = std::move(*doc)});
    w.files.insert(w.files.end(), files->begin(), files->end());
    return w;
  }

  std::optional<workload> flow(const flow_node& f) {
    // A cron source runs no process; inline commands get a Function's default grace.
    workload w{.name = f.name,
               .component = f.component,
               .where = f.where,
               .field = f.name + ".metadata.name",
               .spec_path = spec_path_,
               .only = f.name,
               .replicas = 1,
               .kill_grace = f.runs_commands ? config::function_spec{}.kill_grace
                                             : std::chrono::milliseconds(0),
               .ingress = f.ingress};
    const auto names = referred(f);
    std::map<std::string, std::string> scripts;  // by path: two functions may share one
    bool ok = true;
    for (const auto& name : names) {
      auto fn = functions_.find(name);
      if (fn == functions_.end()) continue;
      const auto* files = function_files(*fn->second);
      if (files == nullptr) {
        ok = false;
        continue;
      }
      for (const auto& file : *files) scripts.emplace(file.path, file.content);
    }
    if (!ok) return std::nullopt;
    for (const auto& step : f.steps) {
      if (auto fn = functions_.find(step); fn != functions_.end()) {
        w.kill_grace = std::max(w.kill_grace, fn->second->kill_grace);
        cover(w.deploy, fn->second->deploy);
      }
    }
    auto text = documents_of(f, names);
    if (!text) return std::nullopt;
    w.files.push_back({.path = w.spec_path, .content = std::move(*text)});
    for (auto& [path, content] : scripts)
      w.files.push_back({.path = path, .content = std::move(content)});
    return w;
  }

 private:
  // The function's document alone, checked by loading it as a pod will: from the same
  // directory, it must give this function and nothing else.
  std::optional<std::string> own_document(const config::function_spec& fn) {
    auto doc = document_named(source_, fn.name);
    if (!doc) return fail(fn.where, fn.name, "cannot find the function's document in the file");
    auto alone = config::load_string(doc->text, spec_.path, dir_.string());
    if (!alone) {
      return fail(fn.where, fn.name,
                  "its document does not load on its own (" + alone.error().front().message + ")");
    }
    if (alone->functions.size() != 1 || alone->functions[0].name != fn.name ||
        alone->functions[0].argv != fn.argv || alone->functions[0].inputs != fn.inputs) {
      return fail(fn.where, fn.name, "cannot cut the function's document out of the file");
    }
    return std::move(doc->text);
  }

  // The flow's name and every name it leads to through its steps and sinks: a sink naming a
  // Parallel or Sequence needs that flow's document to load, and so on.
  std::set<std::string> referred(const flow_node& root) const {
    std::set<std::string> seen{root.name};
    std::vector<const flow_node*> todo{&root};
    while (!todo.empty()) {
      const flow_node* n = todo.back();
      todo.pop_back();
      for (const auto* names : {&n->steps, &n->sinks}) {
        for (const auto& name : *names) {
          if (!seen.insert(name).second) continue;
          if (auto f = flows_by_name_.find(name); f != flows_by_name_.end())
            todo.push_back(f->second);
        }
      }
    }
    return seen;
  }

  // The documents named `names`, as one spec, checked by loading it as a pod will: it must give
  // exactly those documents.
  std::optional<std::string> documents_of(const flow_node& f, const std::set<std::string>& names) {
    std::vector<document_text> docs;
    for (const auto& name : names) {
      auto doc = document_named(source_, name);
      if (!doc) {
        return fail(f.where, f.name,
                    fmt::format("cannot find the document of \"{}\" in the file", name));
      }
      docs.push_back(std::move(*doc));
    }
    std::string text = join(std::move(docs));
    auto alone = config::load_string(text, spec_.path, dir_.string());
    if (!alone) {
      return fail(f.where, f.name,
                  "its documents do not load without the rest of the file (" +
                      alone.error().front().message + ")");
    }
    if (names_in(*alone) != names)
      return fail(f.where, f.name, "cannot cut its documents out of the file");
    return text;
  }

  // The files a function needs beside the spec (its script), checked once per function however
  // many workloads hold it; nullptr when a pod could not run it (reported).
  const std::vector<app_file>* function_files(const config::function_spec& fn) {
    auto [it, fresh] = files_.try_emplace(fn.name);
    if (fresh) it->second = check_files(fn);
    return it->second ? &*it->second : nullptr;
  }

  std::optional<std::vector<app_file>> check_files(const config::function_spec& fn) {
    std::vector<app_file> files;
    if (!fn.script.empty()) {
      auto rel = inside(fn.script, dir_);
      if (!rel) {
        return fail(fn.where, fn.name + ".spec.script",
                    fmt::format("{} is outside the spec's directory {}: a pod sees only that "
                                "directory (as /app), so move the script into it, or run a "
                                "program the image installs with `command`",
                                fn.script, dir_.string()));
      }
      std::string error;
      auto bytes = read_bytes(fn.script, error);
      if (!bytes) return fail(fn.where, fn.name + ".spec.script", error);
      files.push_back({.path = *rel, .content = std::move(*bytes)});
    }
    if (!working_dir_exists(fn)) {
      return fail(fn.where, fn.name + ".spec.workingDir",
                  fmt::format("{} will not exist in a pod: of the host's files, only the spec's "
                              "directory {} is there (as /app); /tmp is writable",
                              fn.working_dir, dir_.string()));
    }
    return files;
  }

  // The image holds the spec's whole directory at /app; /tmp is the pod's writable emptyDir.
  bool working_dir_exists(const config::function_spec& fn) const {
    return fn.working_dir == "/tmp" || inside(fn.working_dir, dir_).has_value();
  }

  std::nullopt_t fail(const config::location& where, std::string field, std::string message) {
    errors_.push_back({where, std::move(field), std::move(message)});
    return std::nullopt;
  }

  const config::spec_file& spec_;
  std::string_view source_;
  fs::path dir_;
  std::string spec_path_;
  std::vector<flow_node> flows_;
  std::vector<config::spec_error>& errors_;
  std::map<std::string, const config::function_spec*, std::less<>> functions_;
  std::map<std::string, const flow_node*, std::less<>> flows_by_name_;
  std::map<std::string, std::optional<std::vector<app_file>>, std::less<>> files_;
};

struct which {
  bool functions = false;
  bool flows = false;
};

workloads_result build(const config::spec_file& spec, std::string_view source, which w) {
  std::vector<config::spec_error> errors;
  builder make(spec, source, errors);
  std::vector<workload> out;
  if (w.functions) {
    for (const auto& fn : spec.functions)
      if (has_inputs(fn))
        if (auto built = make.function(fn)) out.push_back(std::move(*built));
  }
  if (w.flows) {
    for (const auto& f : make.flows())
      if (auto built = make.flow(f)) out.push_back(std::move(*built));
  }
  if (!errors.empty()) return tl::unexpected(std::move(errors));
  std::stable_sort(out.begin(), out.end(),
                   [](const workload& a, const workload& b) { return before(a.where, b.where); });
  return out;
}

}  // namespace

workloads_result spec_workloads(const config::spec_file& spec, std::string_view source) {
  return build(spec, source, {.functions = true, .flows = true});
}

workloads_result function_workloads(const config::spec_file& spec, std::string_view source) {
  return build(spec, source, {.functions = true});
}

workloads_result flow_workloads(const config::spec_file& spec, std::string_view source) {
  return build(spec, source, {.flows = true});
}

}  // namespace shfn::k8s
