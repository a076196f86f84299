// shfn functions: the client of `shfn run`'s functions API (/admin/v3/functions/public/default,
// docs/functions.md), as `pulsar-admin functions` is of Pulsar's: list, get, status, stats,
// create, update, delete, stop, start, restart, trigger, and logs, which follows a function's log
// topic.

#include <fmt/format.h>

#include <asio/signal_set.hpp>
#include <asio/this_coro.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/admin_client.h"
#include "cli/common.h"
#include "client/client.h"
#include "client/consumer.h"
#include "client/errc.h"
#include "config/spec.h"
#include "event/uuid.h"
#include "flow/function_admin.h"

namespace shfn::cli {
namespace {

constexpr std::string_view functions_path = "/admin/v3/functions/public/default";

struct functions_flags {
  admin_flags admin;
  trigger_flags trigger;
  connection_flags conn;  // logs: the broker the log topic is on
  std::string name;
  std::string spec;  // create, update: the spec file
  bool json = false;
  bool follow = false;
  double quiet_seconds = 2;
};

int report(const functions_flags& f, const std::string& what_went_wrong) {
  return error("functions API at " + f.admin.url, what_went_wrong);
}

// The readable status: a line per instance, the last failure under it.
void print_status(const std::string& name, const nlohmann::json& s) {
  std::printf("%s: %d of %d instance(s) running\n", name.c_str(), s.value("numRunning", 0),
              s.value("numInstances", 0));
  for (const auto& i : s.value("instances", nlohmann::json::array())) {
    const auto& st = i.at("status");
    const auto backlog = st.contains("inputBacklog") && st["inputBacklog"].is_number()
                             ? std::to_string(st["inputBacklog"].get<long long>())
                             : std::string("unknown");
    std::printf("  instance %d: %s, received %llu, processed %llu, failed %llu, backlog %s\n",
                i.value("instanceId", 0), st.value("running", false) ? "running" : "stopped",
                st.value("numReceived", 0ULL), st.value("numSuccessfullyProcessed", 0ULL),
                st.value("numUserExceptions", 0ULL), backlog.c_str());
    for (const auto& e : st.value("latestUserExceptions", nlohmann::json::array())) {
      std::printf("    last failure: %s\n", e.value("exceptionString", "").c_str());
    }
  }
}

asio::awaitable<int> show(functions_flags f, std::string what) {
  const std::string path = what == "list" ? std::string(functions_path)
                           : what == "get"
                               ? std::string(functions_path) + "/" + f.name
                               : std::string(functions_path) + "/" + f.name + "/" + what;
  auto body = co_await admin_call(f.admin, "GET", path);
  if (!body) co_return report(f, body.error());
  const auto reply = nlohmann::json::parse(body->body, nullptr, false);
  if (what == "list" && reply.is_array()) {
    for (const auto& name : reply) std::printf("%s\n", name.get<std::string>().c_str());
  } else if (what == "status" && !f.json && reply.is_object()) {
    print_status(f.name, reply);
  } else {
    std::printf("%s\n", reply.dump(2).c_str());
  }
  co_return 0;
}

asio::awaitable<int> control(functions_flags f, std::string action) {
  auto done = co_await admin_call(f.admin, "POST",
                                  std::string(functions_path) + "/" + f.name + "/" + action, 204);
  if (!done) co_return report(f, done.error());
  std::printf("%s: %s asked; `shfn functions status %s` shows when it is done\n", f.name.c_str(),
              action.c_str(), f.name.c_str());
  co_return 0;
}

// The Function of a spec file that create or update sends: the one named, or the file's only
// one. Flows and sources are refused by name: the API makes Functions.
tl::expected<config::function_spec, std::string> function_of(const config::spec_file& file,
                                                             const std::string& name) {
  if (auto flows = config::flow_documents(file); !flows.empty()) {
    const auto& d = flows.front();
    return tl::unexpected(
        fmt::format("{}:{}: {} {}: the functions API makes Functions only; run "
                    "flows and sources with shfn run",
                    d.where.file, d.where.line, d.kind, d.name));
  }
  for (const auto& fn : file.functions)
    if (fn.name == name || (name.empty() && file.functions.size() == 1)) return fn;
  if (name.empty())
    return tl::unexpected(file.path + " has " + std::to_string(file.functions.size()) +
                          " Functions: say which with --name");
  return tl::unexpected(file.path + " has no Function " + name);
}

// `functions create|update -f SPEC`: the file checked here, its Function sent as the
// FunctionConfig that get answers, with its script uploaded as pulsar-admin uploads --go's
// file. Optional fields the file leaves out go as null, so that an update resets them.
asio::awaitable<int> deploy(functions_flags f, std::string action) {
  auto file = config::load_file(f.spec);
  if (!file) {
    for (const auto& e : file.error()) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    co_return 1;
  }
  auto spec = function_of(*file, f.name);
  if (!spec) co_return error(action + " " + f.spec, spec.error());
  if (spec->working_dir != file->base_dir) {
    co_return error(spec->name + ": workingDir",
                    "a Function made through the API runs in the directory shfn run keeps it "
                    "in; leave workingDir out");
  }
  auto config = flow::function_config_json(*spec);
  for (const char* optional : {"topicsPattern", "output", "logTopic", "deadLetterTopic",
                               "subscriptionType", "framing", "input", "producerConfig"}) {
    if (!config.contains(optional)) config[optional] = nullptr;
  }
  multipart_form form;
  if (!spec->script.empty()) {
    auto script = read_file(spec->script);
    if (!script) co_return error("cannot read " + spec->script, script.error());
    config.erase("command");
    config["go"] = spec->script;
    form.add("functionConfig", config.dump());
    form.add("data", *script, std::filesystem::path(spec->script).filename().string());
  } else {
    form.add("functionConfig", config.dump());
  }
  const std::string method = action == "create" ? "POST" : "PUT";
  const std::string path = std::string(functions_path) + "/" + spec->name;
  auto done = co_await admin_call(f.admin, method, path, 204, form.finish(), form.content_type());
  if (!done) co_return report(f, done.error());
  std::printf("%s: %sd\n", spec->name.c_str(), action.c_str());
  co_return 0;
}

asio::awaitable<int> remove(functions_flags f) {
  auto done =
      co_await admin_call(f.admin, "DELETE", std::string(functions_path) + "/" + f.name, 204);
  if (!done) co_return report(f, done.error());
  std::printf("%s: deleted\n", f.name.c_str());
  co_return 0;
}

// The function's log topic, read from the start with a subscription of its own (removed on
// exit); with -f until interrupted, else until nothing came for quiet_seconds.
asio::awaitable<int> logs(functions_flags f) {
  auto body = co_await admin_call(f.admin, "GET", std::string(functions_path) + "/" + f.name);
  if (!body) co_return report(f, body.error());
  const auto config = nlohmann::json::parse(body->body, nullptr, false);
  const std::string topic = config.is_object() ? config.value("logTopic", "") : "";
  if (topic.empty())
    co_return error(f.name, "has no logTopic: its log lines go to shfn run's stderr");
  auto ex = co_await asio::this_coro::executor;
  auto c = client::client::create(ex, f.conn.options());
  if (!c) co_return error("invalid connection settings", c.error().message());
  const client::consumer_options options{
      .topic = topic,
      .subscription = "shfn-logs-" + event::uuid_v4().substr(0, 8),
      .position = client::initial_position::earliest};
  auto consumer = co_await (*c)->subscribe(options);
  if (!consumer) {
    co_return error("cannot read " + topic + " at " + f.conn.url, consumer.error().message());
  }
  asio::signal_set signals(ex, SIGINT, SIGTERM);
  signals.async_wait([&consumer](std::error_code ec, int) {
    if (!ec) (*consumer)->interrupt();
  });
  int code = 0;
  for (;;) {
    const auto deadline =
        f.follow
            ? clock::time_point::max()
            : clock::now() + std::chrono::milliseconds(static_cast<long>(f.quiet_seconds * 1000));
    auto m = co_await (*consumer)->receive(deadline);
    if (!m) {
      const bool ended =
          m.error() == client::errc::timeout || m.error() == client::errc::interrupted;
      if (!ended) code = error("reading " + topic, m.error().message());
      break;
    }
    std::fwrite(m->payload.data(), 1, m->payload.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    (*consumer)->acknowledge(*m);
  }
  signals.cancel();
  if (auto removed = co_await (*consumer)->unsubscribe(); !removed) co_await (*consumer)->close();
  (*c)->close();
  co_return code;
}

CLI::App* with_name(CLI::App* cmd, functions_flags& f) {
  cmd->add_option("name", f.name, "The function's name")->required();
  return cmd;
}

}  // namespace

void setup_functions(CLI::App& app, int& exit_code) {
  auto* group = app.add_subcommand(
      "functions",
      "List, inspect, create, update, delete, stop, start, trigger and follow the functions of a "
      "running shfn run");
  group->require_subcommand(1);
  group->fallthrough();  // --admin-url after the subcommand too
  auto f = std::make_shared<functions_flags>();
  f->admin.add_to(*group, "http://127.0.0.1:8081", "shfn run's admin URL");
  auto* list = group->add_subcommand("list", "The names of the functions");
  list->callback([f, &exit_code] { exit_code = run([f] { return show(*f, "list"); }); });
  auto* get = with_name(group->add_subcommand("get", "A function's settings (JSON)"), *f);
  get->callback([f, &exit_code] { exit_code = run([f] { return show(*f, "get"); }); });
  auto* status = with_name(group->add_subcommand("status", "Its instances and their counters"), *f);
  status->add_flag("--json", f->json, "Print the API's JSON (Pulsar's FunctionStatus)");
  status->callback([f, &exit_code] { exit_code = run([f] { return show(*f, "status"); }); });
  auto* stats = with_name(group->add_subcommand("stats", "Totals and latency (JSON)"), *f);
  stats->callback([f, &exit_code] { exit_code = run([f] { return show(*f, "stats"); }); });
  for (const char* action : {"stop", "start", "restart"}) {
    auto* cmd = with_name(group->add_subcommand(action, std::string("Ask it to ") + action), *f);
    cmd->callback([f, action = std::string(action), &exit_code] {
      // A named string: GCC 12 destroys a temporary coroutine argument twice.
      exit_code = run([f, action] { return control(*f, action); });
    });
  }
  for (const char* action : {"create", "update"}) {
    auto* cmd = group->add_subcommand(
        action, std::string(action == std::string_view("create") ? "Create" : "Update") +
                    " a function from a spec file (kept by shfn run in its data directory)");
    cmd->add_option("-f,--spec", f->spec, "The spec file (YAML) with the Function")->required();
    cmd->add_option("--name", f->name, "Which Function of the file (default: its only one)");
    cmd->callback([f, action = std::string(action), &exit_code] {
      // A named string: GCC 12 destroys a temporary coroutine argument twice.
      exit_code = run([f, action] { return deploy(*f, action); });
    });
  }
  auto* del = with_name(group->add_subcommand("delete",
                                              "Delete a function made through the API "
                                              "(create): it drains and stops"),
                        *f);
  del->callback([f, &exit_code] { exit_code = run([f] { return remove(*f); }); });
  auto* trig =
      with_name(group->add_subcommand("trigger", "Send it one value and print its output"), *f);
  f->trigger.add_to(*trig, true);
  trig->callback([f, &exit_code] {
    exit_code = run([f] {
      const std::string path = std::string(functions_path) + "/" + f->name + "/trigger";
      return trigger(f->admin, path, f->trigger);
    });
  });
  auto* log = with_name(group->add_subcommand("logs", "Print its log topic's lines"), *f);
  log->add_flag("-f,--follow", f->follow, "Keep printing new lines until interrupted");
  log->add_option("--quiet-seconds", f->quiet_seconds,
                  "Without -f: stop once no line came for this long")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  f->conn.add_to(*log);
  log->callback([f, &exit_code] { exit_code = run([f] { return logs(*f); }); });
}

}  // namespace shfn::cli
