// shfn flows, shfn sources: the clients of `shfn run`'s flows and sources APIs
// (/admin/v3/flows|sources/public/default, docs/functions.md), the siblings of `shfn functions`:
// list, get, status, stats (flows), create and update from a spec file, delete, stop, start,
// restart.

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/admin_client.h"
#include "cli/common.h"
#include "config/spec.h"

namespace shfn::cli {
namespace {

struct documents_flags {
  std::string kind;  // "flows" or "sources": the API's path, the command's name
  admin_flags admin;
  std::string name;
  std::string spec;       // create, update: the spec file
  trigger_flags trigger;  // flows
  bool json = false;

  bool flows() const { return kind == "flows"; }
  std::string path() const { return "/admin/v3/" + kind + "/public/default"; }
  int report(const std::string& what_went_wrong) const {
    return error(kind + " API at " + admin.url, what_went_wrong);
  }
};

void print_flow_status(const std::string& name, const nlohmann::json& s) {
  std::printf("%s: %d of %d stage(s) running\n", name.c_str(), s.value("numRunning", 0),
              s.value("numStages", 0));
  for (const auto& stage : s.value("stages", nlohmann::json::array())) {
    const auto& instances = stage.at("status").value("instances", nlohmann::json::array());
    unsigned long long received = 0, processed = 0, failed = 0;
    bool running = false;
    for (const auto& i : instances) {
      const auto& st = i.at("status");
      running = running || st.value("running", false);
      received += st.value("numReceived", 0ULL);
      processed += st.value("numSuccessfullyProcessed", 0ULL);
      failed += st.value("numUserExceptions", 0ULL);
    }
    std::printf("  %s: %s, received %llu, processed %llu, failed %llu\n",
                stage.value("name", "").c_str(), running ? "running" : "stopped", received,
                processed, failed);
  }
}

void print_source_status(const std::string& name, const nlohmann::json& s) {
  const auto& i = s.at("instances").at(0).at("status");
  const bool running = i.value("running", false);
  std::printf("%s: %s, %llu tick(s)", name.c_str(), running ? "running" : "stopped",
              i.value("numWritten", 0ULL));
  if (running && i["nextTick"].is_string())
    std::printf(", next at %s", i["nextTick"].get<std::string>().c_str());
  std::printf("\n");
}

asio::awaitable<int> show(documents_flags f, std::string what) {
  const std::string path = what == "list"  ? f.path()
                           : what == "get" ? f.path() + "/" + f.name
                                           : f.path() + "/" + f.name + "/" + what;
  auto body = co_await admin_call(f.admin, "GET", path);
  if (!body) co_return f.report(body.error());
  const auto reply = nlohmann::json::parse(body->body, nullptr, false);
  if (what == "list" && reply.is_array()) {
    for (const auto& name : reply) std::printf("%s\n", name.get<std::string>().c_str());
  } else if (what == "status" && !f.json && reply.is_object()) {
    if (f.flows()) {
      print_flow_status(f.name, reply);
    } else {
      print_source_status(f.name, reply);
    }
  } else {
    std::printf("%s\n", reply.dump(2).c_str());
  }
  co_return 0;
}

// The flow or source of a spec file that create or update sends: the one named, or the file's
// only one; else why not.
tl::expected<std::string, std::string> document_of(const config::spec_file& file,
                                                   const documents_flags& f) {
  std::vector<std::string> names;
  for (const auto& d : config::flow_documents(file)) {
    const bool flow = d.kind == "Parallel" || d.kind == "Sequence";
    if (flow == f.flows()) names.push_back(d.name);
  }
  const std::string singular = f.flows() ? "flow" : "source";
  if (!f.name.empty()) {
    if (std::ranges::find(names, f.name) != names.end()) return f.name;
    return tl::unexpected(file.path + " has no " + singular + " " + f.name);
  }
  if (names.size() == 1) return names.front();
  return tl::unexpected(
      fmt::format("{} has {} {}s: say which with --name", file.path, names.size(), singular));
}

// The spec file as written, and the scripts its Functions run, each under its path relative to
// the file (what shfn run keeps beside it); a script outside the file's directory, or a
// workingDir, cannot be carried.
tl::expected<multipart_form, std::string> form_of(const config::spec_file& file,
                                                  const std::string& text) {
  multipart_form form;
  form.add("spec", text);
  const std::filesystem::path base = file.base_dir;
  for (const auto& fn : file.functions) {
    if (fn.working_dir != file.base_dir) {
      return tl::unexpected(fn.name +
                            ": workingDir: what is made through the API runs in the "
                            "directory shfn run keeps it in; leave workingDir out");
    }
    if (fn.script.empty()) continue;
    const auto relative = std::filesystem::path(fn.script).lexically_relative(base);
    if (relative.empty() || *relative.begin() == "..") {
      return tl::unexpected(fn.name + ": script " + fn.script + " is not below " + file.base_dir +
                            ": only files below the spec file's directory are sent");
    }
    auto content = read_file(fn.script);
    if (!content) return tl::unexpected("cannot read " + fn.script + ": " + content.error());
    form.add("file:" + relative.string(), *content, relative.filename().string());
  }
  return form;
}

asio::awaitable<int> deploy(documents_flags f, std::string action) {
  auto file = config::load_file(f.spec);
  if (!file) {
    for (const auto& e : file.error()) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    co_return 1;
  }
  auto name = document_of(*file, f);
  if (!name) co_return error(action + " " + f.spec, name.error());
  auto text = read_file(f.spec);
  if (!text) co_return error("cannot read " + f.spec, text.error());
  auto form = form_of(*file, *text);
  if (!form) co_return error(action + " " + f.spec, form.error());
  const std::string method = action == "create" ? "POST" : "PUT";
  const std::string path = f.path() + "/" + *name;
  auto done = co_await admin_call(f.admin, method, path, 204, form->finish(), form->content_type());
  if (!done) co_return f.report(done.error());
  std::printf("%s: %sd\n", name->c_str(), action.c_str());
  co_return 0;
}

asio::awaitable<int> act(documents_flags f, std::string action) {
  const bool remove = action == "delete";
  const std::string method = remove ? "DELETE" : "POST";
  const std::string path = f.path() + "/" + f.name + (remove ? "" : "/" + action);
  auto done = co_await admin_call(f.admin, method, path, 204);
  if (!done) co_return f.report(done.error());
  if (remove) {
    std::printf("%s: deleted\n", f.name.c_str());
  } else {
    std::printf("%s: %s asked; `shfn %s status %s` shows when it is done\n", f.name.c_str(),
                action.c_str(), f.kind.c_str(), f.name.c_str());
  }
  co_return 0;
}

void setup_documents(CLI::App& app, int& exit_code, const std::string& kind) {
  const bool flows = kind == "flows";
  const std::string singular = flows ? "flow" : "source";
  auto* group =
      app.add_subcommand(kind, "List, inspect, create, update, delete, stop and start the " + kind +
                                   " of a running shfn run");
  group->require_subcommand(1);
  group->fallthrough();  // --admin-url after the subcommand too
  auto f = std::make_shared<documents_flags>();
  f->kind = kind;
  f->admin.add_to(*group, "http://127.0.0.1:8081", "shfn run's admin URL");
  const auto named = [&](const std::string& cmd, const std::string& what) {
    auto* sub = group->add_subcommand(cmd, what);
    sub->add_option("name", f->name, "The " + singular + "'s name")->required();
    return sub;
  };
  group->add_subcommand("list", "The names of the " + kind)->callback([f, &exit_code] {
    exit_code = run([f] { return show(*f, "list"); });
  });
  named("get", "Its definition (JSON)")->callback([f, &exit_code] {
    exit_code = run([f] { return show(*f, "get"); });
  });
  auto* status = named("status", flows ? "Its stages and their counters" : "Its ticks");
  status->add_flag("--json", f->json, "Print the API's JSON");
  status->callback([f, &exit_code] { exit_code = run([f] { return show(*f, "status"); }); });
  if (flows) {
    named("stats", "Each stage's totals and latency (JSON)")->callback([f, &exit_code] {
      exit_code = run([f] { return show(*f, "stats"); });
    });
  }
  if (flows) {
    auto* trig = named("trigger", "Send it one value and print its reply");
    f->trigger.add_to(*trig, false);
    trig->callback([f, &exit_code] {
      exit_code = run([f] {
        // Named: trigger() is a coroutine, and GCC 12 destroys a temporary argument twice.
        const std::string path = f->path() + "/" + f->name + "/trigger";
        return trigger(f->admin, path, f->trigger);
      });
    });
  }
  for (const char* action : {"create", "update"}) {
    auto* cmd = group->add_subcommand(
        action, std::string(action == std::string_view("create") ? "Create" : "Update") + " a " +
                    singular +
                    " from a spec file, with the Functions and scripts it uses (kept by shfn run "
                    "in its data directory)");
    cmd->add_option("-f,--spec", f->spec, "The spec file (YAML)")->required();
    cmd->add_option("--name", f->name,
                    "Which " + singular + " of the file (default: its only one)");
    cmd->callback([f, action = std::string(action), &exit_code] {
      // A named string: GCC 12 destroys a temporary coroutine argument twice.
      exit_code = run([f, action] { return deploy(*f, action); });
    });
  }
  for (const char* action : {"delete", "stop", "start", "restart"}) {
    const std::string what = std::string(action) == "delete"
                                 ? "Delete one made through the API: it drains and stops"
                                 : std::string("Ask it to ") + action;
    named(action, what)->callback([f, action = std::string(action), &exit_code] {
      // A named string: GCC 12 destroys a temporary coroutine argument twice.
      exit_code = run([f, action] { return act(*f, action); });
    });
  }
}

}  // namespace

void setup_flows(CLI::App& app, int& exit_code) {
  setup_documents(app, exit_code, "flows");
}

void setup_sources(CLI::App& app, int& exit_code) {
  setup_documents(app, exit_code, "sources");
}

}  // namespace shfn::cli
