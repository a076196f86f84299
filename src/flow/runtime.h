#pragma once
// A spec file's plan (flow/plan.h) run on one client: one function_instance per stage (a plain
// Function, or one hop of a Parallel or Sequence), one source per cron or command source, and the
// admin HTTP endpoints a supervisor (Kubernetes, Prometheus) needs. apply() swaps in a new plan
// while it runs, restarting only the stages that changed (a reload, `shfn run`'s SIGHUP); the
// API's create, update and delete are such changes too, kept in a function_store.
//
//   GET /healthz   200 "ok" while the process runs
//   GET /readyz    200 once every instance has subscribed, 503 before and while draining
//   GET /metrics   Prometheus text, Pulsar Functions' metric names, labels function and instance
//   GET /status    JSON: one object per instance (see function::function_instance::status)
//   GET /version   JSON: shfn's version
//   /admin/v3/functions|flows|sources/public/default/...   Pulsar's functions API and its
//                  siblings (docs/functions.md): read, create, update, delete, stop, start,
//                  trigger
//
// Threads: the runtime, its admin endpoints and the sources run on the executor of the
// client it was created with; the instances are spread over `threads` event loops, that one
// among them (flow/shards.h), each with a client of its own. A function of parallelism p >= 2 on
// a Shared subscription runs as up to `threads` instances, each with its share of the workers
// and a consumer of its own, as Pulsar Functions runs p instances: one function uses as many
// cores as the machine gives it.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "base/notifier.h"
#include "client/client.h"
#include "config/spec.h"
#include "flow/command_source.h"
#include "flow/cron_source.h"
#include "flow/function_admin.h"
#include "flow/function_store.h"
#include "flow/plan.h"
#include "flow/shards.h"
#include "function/function_instance.h"
#include "http/http.h"
#include "http/server.h"

namespace shfn::flow {

using admin_handler = std::function<http::http_response(const http::http_request&)>;

struct runtime_options {
  int instance_id = 0;
  std::string scratch_dir;
  std::chrono::milliseconds drain_timeout{30000};
  std::chrono::milliseconds pattern_discovery{60000};  // see instance_options
  std::chrono::milliseconds backlog_refresh{5000};     // see instance_options
  source_clock clock;  // what time the cron sources believe it is (see cron_source.h)
  // The HTTP ingress's URL once it serves (http://HOST:PORT), for the K_SINK of command
  // sources; unset or empty: none.
  std::function<std::string()> ingress_url;
  // With token authentication, a token the ingress takes: command sources' commands get it as
  // SHFN_TOKEN, for their requests to K_SINK. Empty: none asked.
  std::string source_token;
  // With the embedded broker: whether its disk is full, so that no output can be stored. Shown
  // by /readyz (503), /metrics and /status. Empty with a remote broker, which shows its own.
  std::function<bool()> broker_disk_full;
  // The embedded broker's admin API (Pulsar's /admin/v2/... and /lookup/...), served on the
  // runtime's admin port; from the runtime's thread. Unset: those paths are not found.
  admin_handler broker_admin;
  // Event loops to spread the instances over, the caller's among them (1: all on the caller's).
  int threads = 1;
  // Where the API's create, update and delete keep what they make (Functions, flows, sources),
  // and its stop and start what is stopped (function_store.h). Unset: create, update and delete
  // are refused, and a stop lasts until the process ends.
  function_store* store = nullptr;
  // Token authentication on the admin port: whether a request carries a valid token
  // ("Authorization: Bearer"). Unset: none asked. /healthz, /readyz and /metrics stay open to
  // probes and scrapers, as Pulsar's health check and (by default) its metrics are.
  std::function<bool(const http::http_request&)> authenticate;
  // Called with each plan before it runs, a reload's too (the embedded broker creates the
  // plan's namespaces); a failure stops the plan from running.
  std::function<result<void>(const plan&)> prepare;
};

// A reload's plan, made when its turn comes (one change at a time); else every error, a line
// each.
using plan_maker = std::function<tl::expected<plan, std::vector<std::string>>()>;

class runtime {
 public:
  runtime(client::client& c, plan p, runtime_options options);
  ~runtime();

  // Serves the admin endpoints on `at` (port 0: any free port).
  result<void> serve_admin(asio::any_io_executor ex, const asio::ip::tcp::endpoint& at);
  std::string admin_url() const;

  // Starts every instance, calls `on_ready` once all have subscribed, runs until stop(), then
  // drains them. Fails when an instance cannot start for a reason retrying cannot fix.
  asio::awaitable<result<void>> run(std::function<void()> on_ready);
  // Stops taking messages; in-flight ones get until now + drain_timeout.
  void stop();
  // A reload: runs `next` instead of the plan running now, touching only what differs. A stage
  // or source that is the same definition (plan.h) keeps running; one that is gone drains and
  // stops; a changed one drains and stops, then starts as defined now; a new one starts. One
  // reload at a time (a second waits for the first); each step is logged. Fails with the first
  // stage that cannot start (the rest of the reload is done all the same). From run()'s
  // executor, while run() runs.
  asio::awaitable<result<void>> apply(plan next);
  // apply() of the plan `make` makes once it is this reload's turn (so a plan made from files
  // is never older than a change the functions API made meanwhile); a plan that cannot be made
  // changes nothing, and its errors are logged. For SIGHUP and --watch.
  asio::awaitable<result<void>> reload(plan_maker make);

  bool ready() const;
  // Where the HTTP ingress sends events: the running plan's Brokers, Parallels and Sequences.
  const std::vector<ingress_route>& routes() const { return plan_.routes; }
  // No instance has a message in flight.
  bool idle() const;
  http::http_response handle(const http::http_request& request);

 private:
  // One stage of the plan as it runs: its instances (one, or its parts over the shards). Each
  // part's run() holds `running`.
  struct unit {
    stage def;
    // None while stopped through the functions API (a reload that leaves it unchanged leaves
    // it stopped).
    std::vector<std::unique_ptr<function::function_instance>> parts;
    std::vector<std::size_t> shards;  // parts[k] lives on shard shards[k]
    gate running;
  };
  struct source_unit {
    source_spec def;
    std::unique_ptr<flow::source> source;
    gate running;
    bool stopped = false;  // through the API: not started (a fresh source, ready to be)
  };

  bool broker_disk_full() const;
  // GET /graph[?format=svg|dot|mermaid]: the running plan's picture (graph.h).
  http::http_response graph_response(const http::http_request& r) const;
  // Whether `r` may be answered: token authentication off, an open path, or a valid token.
  bool authorized(const http::http_request& r) const;
  // One change at a time (a reload, a stop or start, a create, update or delete), after run()
  // has launched what it started (it walks units_ until then).
  asio::awaitable<void> take_turn();
  void end_turn();
  // apply() with the turn taken.
  asio::awaitable<result<void>> apply_in_turn(plan next);
  // Whether the store says the Function, flow or source `name` was stopped through the API.
  bool stopped_through_api(const std::string& name) const;
  // Parts are made for a stage unless its Function or flow was stopped through the API.
  std::unique_ptr<unit> make_unit(stage s);
  void make_parts(unit* u);
  std::unique_ptr<source_unit> make_source(source_spec spec);
  // Starts every part; fails (having stopped none) when one cannot start.
  asio::awaitable<result<void>> start_unit(unit* u);
  // Spawns each part's run() on its shard, held by u->running.
  void launch(unit* u, const asio::any_io_executor& ex);
  // Tells each part to drain until `deadline`.
  void stop_unit(unit* u, clock::time_point deadline);
  // Waits for a stopped unit's parts to end, then destroys them, each on its shard; the unit
  // is left without parts.
  asio::awaitable<void> drop_parts(unit* u);
  asio::awaitable<result<void>> apply_sources(std::vector<source_spec> next,
                                              asio::any_io_executor ex);
  // Pulsar's functions API (/admin/v3/functions/public/default/...) over the plain Functions;
  // nullopt for other paths.
  std::optional<http::http_response> functions_api(const http::http_request& r);
  unit* find_function(const std::string& name) const;
  std::vector<function_instance_snapshot> snapshots(const unit& u) const;
  // The API's stop and start of a Function, a flow (its stages) or a source: a change like a
  // reload's, one at a time with them (runtime_flows.cc).
  asio::awaitable<void> stop_named(std::string name, bool start_again);
  asio::awaitable<void> start_named(std::string name);
  // POST …/{name}/stop, start or restart: 204 at once, the change spawned; nullopt for
  // other requests.
  std::optional<http::http_response> lifecycle_request(const std::string& method,
                                                       const std::string& action,
                                                       const std::string& name);
  // The units of a Function or flow `name` (a flow's stages, in plan order).
  std::vector<unit*> units_named(const std::string& name) const;
  source_unit* source_named(const std::string& name) const;
  // In the store, so that a restart of the process finds it stopped (or not) too.
  void remember_stopped(const std::string& name, bool stopped);
  // POST …/{name}/trigger, as pulsar-admin functions trigger: the form's `data` (or
  // `dataStream`) published to the function's input (its first, or the form's `topic`, one of
  // them) under a key of its own; the answer is the first output with that key, read through a
  // subscription made before publishing.
  std::optional<asio::awaitable<http::http_response>> slow_request(const http::http_request& r);
  asio::awaitable<http::http_response> trigger(std::string name,
                                               std::map<std::string, std::string> form);
  // POST /admin/v3/flows/…/{name}/trigger: the same through a flow, from its ingress to its
  // reply topic (the first, for a Parallel whose branches reply apart).
  asio::awaitable<http::http_response> trigger_flow(std::string name,
                                                    std::map<std::string, std::string> form);
  struct trigger_route {
    std::string what;                   // "Function upper", for messages
    std::string input, output;          // topics
    std::chrono::milliseconds wait{0};  // for the output, once published
  };
  asio::awaitable<http::http_response> trigger_through(trigger_route route,
                                                       std::map<std::string, std::string> form);
  // A create or update's new version of what the store keeps under a name: its files (its
  // spec.yaml among them) and the kept files it carries over; else the answer that refuses it.
  struct kept_version {
    std::vector<function_store::file> files;
    std::vector<std::string> carried;
  };
  using version_maker = std::function<tl::expected<kept_version, http::http_response>()>;
  // Whether a loaded version holds what the path named (its kind, its name): why not, if not.
  using version_check = std::function<std::optional<std::string>(const config::spec_file&)>;
  // A create (POST), update (PUT) or delete (DELETE) of the `what` ("Function", "Flow",
  // "Source") called `name`, as the API's paths ask it: checked, kept in the store, then
  // applied as a reload (what was loaded from its kept spec file replaced); answered once
  // applied (runtime_changes.cc).
  asio::awaitable<http::http_response> change_kept(std::string what, std::string method,
                                                   std::string name, version_maker make,
                                                   version_check check);
  // The plan such a change makes, the store changed; else the answer that refuses it, the store
  // untouched. Synchronous: no other change comes between its checks and its writes.
  tl::expected<plan, http::http_response> kept_change(const std::string& what,
                                                      const std::string& method,
                                                      const std::string& name,
                                                      const version_maker& make,
                                                      const version_check& check);
  // The new version staged, loaded as a spec file where staged and checked (its names free,
  // `check` content), then kept and loaded where kept.
  tl::expected<config::spec_file, http::http_response> keep_version(const std::string& name,
                                                                    const kept_version& version,
                                                                    const version_check& check);
  // The document of the running plan called `name`, unless it was loaded from `except`.
  const config::flow_document* document_named(const std::string& name,
                                              const std::string& except = "") const;
  // The running plan with what was loaded from `path` replaced by `file`'s (none: gone).
  plan with_kept(const std::string& path, const config::spec_file* file) const;
  // The flows and sources APIs (/admin/v3/flows|sources/public/default/...): list, get,
  // status, stats, stop, start, restart; nullopt for other paths (runtime_flows.cc).
  std::optional<http::http_response> flows_api(const http::http_request& r);
  // A flow's or a source's new version from a form: the spec file's YAML (`spec`) and its files
  // (`file:PATH`); and the check that the loaded file holds that flow or source, and no other.
  static version_maker document_version(std::map<std::string, std::string> form, std::string what);
  static version_check document_check(std::string name, bool flow);
  // A Function's new version from pulsar-admin's form (`functionConfig`, `data`).
  tl::expected<kept_version, http::http_response> function_version(
      const std::string& method, const std::string& name,
      const std::map<std::string, std::string>& form) const;
  // Reads part k of `u` on its shard (for the admin endpoints).
  template <class F>
  auto read_part(const unit& u, std::size_t k, F f) const {
    return shards_->call(u.shards[k], [&u, k, &f] { return f(*u.parts[k]); });
  }

  client::client& client_;  // the sources' (shard 0's)
  runtime_options options_;
  std::unique_ptr<shard_set> shards_;
  std::size_t next_shard_ = 0;  // where the next part goes, round-robin
  // ~runtime joins the shards' threads first: these then go with no thread running, and
  // before the shards' clients.
  std::vector<std::unique_ptr<unit>> units_;  // in plan order
  plan plan_;                                 // what units_ and sources_ run
  std::vector<std::unique_ptr<source_unit>> sources_;
  std::unique_ptr<http::http_server> admin_;
  bool running_ = false;  // run() has launched the units: apply() launches what it starts
  notifier launched_;
  bool stopping_ = false;
  notifier stopped_;
  bool reloading_ = false;
  notifier reloaded_;
};

}  // namespace shfn::flow
