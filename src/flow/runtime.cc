#include "flow/runtime.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/spawn.h"
#include "base/version.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "event/uuid.h"
#include "http/form.h"
#include "http/prometheus.h"
#include "wire/topic_name.h"

namespace shfn::flow {

using asio::awaitable;

namespace {

// The gauge `shfn broker` serves on its own /metrics, for the broker `shfn run` embeds.
std::string render_disk_full_gauge(bool full) {
  http::metrics_writer out;
  out.family("shfn_broker_disk_full", http::metric_type::gauge,
             "1 while the embedded broker's disk is full and producers are refused.");
  out.sample("shfn_broker_disk_full", full ? 1 : 0);
  return std::move(out).str();
}

}  // namespace

runtime::runtime(client::client& c, plan p, runtime_options options)
    : client_(c), options_(std::move(options)) {
  auto shards = shard_set::start(c, std::max(1, options_.threads));
  if (!shards) {
    spdlog::warn("cannot make a client per thread ({}): running on one thread",
                 shards.error().message());
    shards = shard_set::start(c, 1);
  }
  shards_ = std::move(*shards);
  for (auto& s : p.stages) units_.push_back(make_unit(std::move(s)));
  for (auto& source : p.sources) sources_.push_back(make_source(std::move(source)));
}

runtime::~runtime() {
  if (admin_) admin_->stop();
  shards_->stop();
}

namespace {

// How many instances a stage runs as: a share of its parallelism per thread where its
// consumers may share the subscription and nothing ties its messages to one process. Not for
// Failover or Exclusive (one consumer takes all), Key_Shared (a key moving between consumers
// would break its order), EFFECTIVELY_ONCE (one producer per input partition, by name), nor a
// flow's built-in step (one object, serving its stage's thread).
int instances_for(const stage& s, int threads) {
  const auto& spec = s.spec;
  const bool shareable = spec.subscription == config::subscription_kind::shared &&
                         spec.guarantees != config::guarantee::effectively_once && !s.options.step;
  return shareable ? std::clamp(spec.parallelism, 1, threads) : 1;
}

}  // namespace

std::unique_ptr<runtime::unit> runtime::make_unit(stage s) {
  auto u = std::make_unique<unit>();
  u->def = std::move(s);
  make_parts(u.get());
  return u;
}

void runtime::make_parts(unit* u) {
  const stage& s = u->def;
  const int parts = instances_for(s, static_cast<int>(shards_->size()));
  const int parallelism = s.spec.parallelism;
  for (int part = 0; part < parts; ++part) {
    config::function_spec spec = s.spec;
    // Workers (or concurrent runs) shared out, the first parts taking one more.
    spec.parallelism = parallelism / parts + (part < parallelism % parts ? 1 : 0);
    // One instance keeps the process's id; parts of one get ids of their own, as Pulsar's
    // instances 0..p-1 have (a pod's ordinal times the parts, plus the part).
    const int id = parts == 1 ? options_.instance_id : options_.instance_id * parts + part;
    function::instance_options io{.instance_id = id,
                                  .scratch_dir = options_.scratch_dir,
                                  .pattern_discovery = options_.pattern_discovery,
                                  .backlog_refresh = options_.backlog_refresh,
                                  .stage = s.options};
    const std::size_t shard = next_shard_++ % shards_->size();
    u->parts.push_back(std::make_unique<function::function_instance>(
        shards_->client(shard), std::move(spec), std::move(io)));
    u->shards.push_back(shard);
  }
}

std::unique_ptr<runtime::source_unit> runtime::make_source(config::cron_source_spec spec) {
  auto u = std::make_unique<source_unit>();
  const cron_source_options so{.clock = options_.clock};
  u->source = std::make_unique<cron_source>(client_, std::move(spec), so);
  return u;
}

result<void> runtime::serve_admin(asio::any_io_executor ex, const asio::ip::tcp::endpoint& at) {
  http::http_server::handler h = [this](const http::http_request& r) { return handle(r); };
  auto server = http::http_server::start(std::move(ex), at, h);
  if (!server) return fail(server.error());
  admin_ = std::move(*server);
  admin_->answer_later([this](const http::http_request& r) { return slow_request(r); });
  return {};
}

std::string runtime::admin_url() const {
  return admin_ ? admin_->url() : std::string();
}

bool runtime::ready() const {
  if (stopping_) return false;
  for (const auto& u : units_) {
    for (std::size_t k = 0; k < u->parts.size(); ++k) {
      if (!read_part(*u, k, [](const function::function_instance& fi) { return fi.ready(); })) {
        return false;
      }
    }
  }
  for (const auto& s : sources_) {
    if (!s->source->ready()) return false;
  }
  return true;
}

bool runtime::broker_disk_full() const {
  return options_.broker_disk_full && options_.broker_disk_full();
}

bool runtime::idle() const {
  for (const auto& u : units_) {
    for (std::size_t k = 0; k < u->parts.size(); ++k) {
      const auto in_flight =
          read_part(*u, k, [](const function::function_instance& fi) { return fi.in_flight(); });
      if (in_flight > 0) return false;
    }
  }
  return true;
}

awaitable<result<void>> runtime::start_unit(unit* u) {
  for (std::size_t k = 0; k < u->parts.size(); ++k) {
    const auto shard = shards_->executor(u->shards[k]);
    auto started = co_await asio::co_spawn(shard, u->parts[k]->start(), asio::use_awaitable);
    if (started) continue;
    // The parts started before this one close what they opened: a stopped instance's run()
    // drains nothing and closes its parts.
    for (std::size_t j = 0; j < k; ++j) {
      function::function_instance* part = u->parts[j].get();
      const auto on = shards_->executor(u->shards[j]);
      asio::dispatch(on, [part] { part->stop(clock::now()); });
      co_await asio::co_spawn(on, part->run(), asio::use_awaitable);
    }
    co_return started;
  }
  co_return result<void>{};
}

void runtime::launch(unit* u, const asio::any_io_executor& ex) {
  for (std::size_t k = 0; k < u->parts.size(); ++k) {
    function::function_instance* part = u->parts[k].get();
    const auto shard = shards_->executor(u->shards[k]);
    spawn_held(ex, u->running,
               [](asio::any_io_executor on, function::function_instance* p) -> awaitable<void> {
                 co_await asio::co_spawn(on, p->run(), asio::use_awaitable);
               }(shard, part));
  }
}

void runtime::stop_unit(unit* u, clock::time_point deadline) {
  for (std::size_t k = 0; k < u->parts.size(); ++k) {
    function::function_instance* part = u->parts[k].get();
    asio::dispatch(shards_->executor(u->shards[k]), [part, deadline] { part->stop(deadline); });
  }
}

awaitable<void> runtime::drop_parts(unit* u) {
  co_await u->running.close();
  for (std::size_t k = 0; k < u->parts.size(); ++k) {
    // What the instance owns (consumers, timers) belongs to its shard's loop: let it go there.
    shards_->call(u->shards[k], [&u, k] {
      u->parts[k].reset();
      return true;
    });
  }
  u->parts.clear();
  u->shards.clear();
}

awaitable<result<void>> runtime::run(std::function<void()> on_ready) {
  auto ex = co_await asio::this_coro::executor;
  result<void> outcome;
  for (auto& u : units_) {
    auto started = co_await start_unit(u.get());
    if (!started && !stopping_) {
      outcome = fail(started.error());
      stop();
    }
    if (stopping_) break;
  }
  for (auto& s : sources_) {
    if (stopping_) break;
    auto started = co_await s->source->start();
    if (!started && !stopping_) {
      outcome = fail(started.error());
      stop();
    }
  }
  if (!stopping_) {
    for (auto& u : units_) launch(u.get(), ex);
    for (auto& s : sources_) spawn_held(ex, s->running, s->source->run());
    running_ = true;
    launched_.notify_all();
    if (on_ready) on_ready();
  }
  while (!stopping_) co_await stopped_.wait();
  while (reloading_) co_await reloaded_.wait();  // it stops what it started, seeing stopping_
  for (auto& u : units_) co_await u->running.close();
  for (auto& s : sources_) co_await s->running.close();
  if (admin_) admin_->stop();
  co_return outcome;
}

void runtime::stop() {
  if (stopping_) return;
  stopping_ = true;
  launched_.notify_all();
  const auto deadline = clock::now() + options_.drain_timeout;
  for (auto& u : units_) stop_unit(u.get(), deadline);
  for (auto& s : sources_) s->source->stop();
  stopped_.notify_all();
}

awaitable<result<void>> runtime::apply(plan next) {
  // After run() has launched what it started (it walks units_ until then), one at a time.
  while (!running_ && !stopping_) co_await launched_.wait();
  while (reloading_) co_await reloaded_.wait();
  if (stopping_) co_return result<void>{};
  reloading_ = true;
  auto ex = co_await asio::this_coro::executor;
  // Old units by name; what is left in it at the end is gone from the plan.
  std::map<std::string, std::unique_ptr<unit>> old;
  for (auto& u : units_) {
    const std::string name = u->def.spec.name;
    old.emplace(name, std::move(u));
  }
  units_.clear();
  std::vector<std::unique_ptr<unit>> leaving;
  std::vector<stage> starting;
  std::size_t kept = 0;
  for (auto& s : next.stages) {
    auto it = old.find(s.spec.name);
    if (it != old.end() && same_definition(it->second->def, s)) {
      units_.push_back(std::move(it->second));
      old.erase(it);
      ++kept;
      continue;
    }
    if (it != old.end()) {
      spdlog::info("reload: {} changed: draining it, to start it again as defined now",
                   s.spec.name);
      leaving.push_back(std::move(it->second));
      old.erase(it);
    } else {
      spdlog::info("reload: {} is new: starting it", s.spec.name);
    }
    starting.push_back(std::move(s));
  }
  for (auto& [name, u] : old) {
    spdlog::info("reload: {} is gone from the spec: draining it, to stop it", name);
    leaving.push_back(std::move(u));
  }
  // Drained and stopped before what replaces them starts: an EFFECTIVELY_ONCE output's producer
  // name is taken until then, and a message must not run in both.
  const auto deadline = clock::now() + options_.drain_timeout;
  for (auto& u : leaving) stop_unit(u.get(), deadline);
  for (auto& u : leaving) co_await drop_parts(u.get());
  result<void> outcome;
  for (auto& s : starting) {
    if (stopping_) break;
    const std::string name = s.spec.name;
    auto u = make_unit(std::move(s));
    auto started = co_await start_unit(u.get());
    if (!started) {
      spdlog::error("reload: {} cannot start: {}", name, started.error().message());
      if (outcome) outcome = fail(started.error());
      co_await drop_parts(u.get());  // start_unit closed what it had started
      continue;
    }
    if (running_) launch(u.get(), ex);
    if (stopping_) stop_unit(u.get(), clock::now() + options_.drain_timeout);
    units_.push_back(std::move(u));
    spdlog::info("reload: {} started", name);
  }
  auto sources = co_await apply_sources(std::move(next.sources), ex);
  if (!sources && outcome) outcome = sources;
  spdlog::info("reload: done: {} stage(s) kept, {} started, {} stopped", kept, starting.size(),
               leaving.size());
  reloading_ = false;
  reloaded_.notify_all();
  co_return outcome;
}

awaitable<result<void>> runtime::apply_sources(std::vector<config::cron_source_spec> next,
                                               asio::any_io_executor ex) {
  std::map<std::string, std::unique_ptr<source_unit>> old;
  for (auto& s : sources_) {
    const std::string name = s->source->spec().name;
    old.emplace(name, std::move(s));
  }
  sources_.clear();
  std::vector<std::unique_ptr<source_unit>> leaving;
  std::vector<config::cron_source_spec> starting;
  for (auto& spec : next) {
    auto it = old.find(spec.name);
    if (it != old.end() && same_definition(it->second->source->spec(), spec)) {
      sources_.push_back(std::move(it->second));
      old.erase(it);
      continue;
    }
    spdlog::info("reload: source {} {}", spec.name,
                 it != old.end() ? "changed: stopping it, to start it again" : "is new");
    if (it != old.end()) {
      leaving.push_back(std::move(it->second));
      old.erase(it);
    }
    starting.push_back(std::move(spec));
  }
  for (auto& [name, s] : old) {
    spdlog::info("reload: source {} is gone from the spec: stopping it", name);
    leaving.push_back(std::move(s));
  }
  for (auto& s : leaving) s->source->stop();
  for (auto& s : leaving) co_await s->running.close();
  result<void> outcome;
  for (auto& spec : starting) {
    if (stopping_) break;
    auto s = make_source(std::move(spec));
    auto started = co_await s->source->start();
    if (!started) {
      spdlog::error("reload: source {} cannot start: {}", s->source->spec().name,
                    started.error().message());
      if (outcome) outcome = fail(started.error());
      continue;
    }
    if (running_) spawn_held(ex, s->running, s->source->run());
    if (stopping_) s->source->stop();
    sources_.push_back(std::move(s));
  }
  co_return outcome;
}

http::http_response runtime::handle(const http::http_request& request) {
  const auto& path = request.path;
  if (auto answered = functions_api(request)) return std::move(*answered);
  const bool for_broker = !path.empty() && (path[0] == "admin" || path[0] == "lookup");
  if (for_broker && options_.broker_admin) return options_.broker_admin(request);
  if (request.method != "GET" && request.method != "HEAD") {
    return {.status = 405, .body = R"({"reason": "only GET"})"};
  }
  if (path.size() == 1 && path[0] == "healthz") {
    return {.content_type = "text/plain", .body = "ok\n"};
  }
  if (path.size() == 1 && path[0] == "version") {
    return {.body = nlohmann::json{{"version", version()}}.dump() + "\n"};
  }
  if (path.size() == 1 && path[0] == "readyz") {
    if (broker_disk_full()) {
      return {.status = 503,
              .content_type = "text/plain",
              .body = "not ready: the embedded broker's disk is full; outputs cannot be stored\n"};
    }
    const bool ok = ready();
    return {.status = ok ? 200 : 503,
            .content_type = "text/plain",
            .body = ok ? "ready\n" : "not ready\n"};
  }
  if (path.size() == 1 && path[0] == "metrics") {
    std::vector<function::labelled_metrics> all;
    for (const auto& u : units_) {
      for (std::size_t k = 0; k < u->parts.size(); ++k) {
        all.push_back(read_part(*u, k, [](const function::function_instance& fi) {
          return function::labelled_metrics{fi.spec().name, fi.instance_id(), fi.metrics()};
        }));
      }
    }
    std::string body = function::render_prometheus(all);
    if (options_.broker_disk_full) body += render_disk_full_gauge(broker_disk_full());
    return {.content_type = std::string(http::prometheus_content_type), .body = std::move(body)};
  }
  if (path.size() == 1 && path[0] == "status") {
    nlohmann::json body = {{"ready", ready()}, {"instances", nlohmann::json::array()}};
    if (options_.broker_disk_full) body["broker"] = {{"disk_full", broker_disk_full()}};
    for (const auto& u : units_) {
      for (std::size_t k = 0; k < u->parts.size(); ++k) {
        body["instances"].push_back(
            read_part(*u, k, [](const function::function_instance& fi) { return fi.status(); }));
      }
    }
    body["sources"] = nlohmann::json::array();
    for (const auto& s : sources_) body["sources"].push_back(s->source->status());
    return {.body = body.dump(2) + "\n"};
  }
  return {.status = 404, .body = R"({"reason": "not found"})"};
}

// ------------------------------------------------------------------------------ functions API

namespace {

http::http_response reason(int status, const std::string& text) {
  return {.status = status, .body = nlohmann::json{{"reason", text}}.dump()};
}

// One message with `key` on `topic`, through a producer made for it; once stored.
awaitable<result<void>> publish_once(client::client* c, std::string topic, std::string key,
                                     std::string payload) {
  // Named, not a braced temporary: GCC 12 destroys a temporary coroutine argument twice.
  const client::producer_options options{.topic = topic};
  auto producer = co_await c->create_producer(options);
  if (!producer) co_return fail(producer.error());
  const client::outgoing_message m{.payload = bytes(payload.begin(), payload.end()), .key = key};
  auto sent = co_await (*producer)->send(m);
  co_await (*producer)->close();
  if (!sent) co_return fail(sent.error());
  co_return result<void>{};
}

// The first message with `key` that `outputs` receives before `deadline`, as the answer; 408
// without one. What else comes is acknowledged and passed over.
awaitable<http::http_response> output_with_key(client::consumer* outputs, std::string key,
                                               clock::time_point deadline) {
  for (;;) {
    auto m = co_await outputs->receive(deadline);
    if (!m) co_return http::http_response{.status = 408};
    outputs->acknowledge(*m);
    if (m->key == key) {
      co_return http::http_response{.content_type = "text/plain",
                                    .body = std::string(as_chars(m->payload))};
    }
  }
}

}  // namespace

runtime::unit* runtime::find_function(const std::string& name) const {
  for (const auto& u : units_) {
    if (u->def.flow.empty() && u->def.spec.name == name) return u.get();
  }
  return nullptr;
}

std::vector<function_instance_snapshot> runtime::snapshots(const unit& u) const {
  std::vector<function_instance_snapshot> out;
  if (u.parts.empty()) {  // stopped: one instance that does not run
    out.push_back({.instance_id = options_.instance_id});
    return out;
  }
  for (std::size_t k = 0; k < u.parts.size(); ++k) {
    out.push_back(read_part(u, k, [](const function::function_instance& fi) {
      return function_instance_snapshot{.instance_id = fi.instance_id(),
                                        .running = true,
                                        .restarts = static_cast<int>(fi.worker_restarts()),
                                        .metrics = fi.metrics()};
    }));
  }
  return out;
}

std::optional<http::http_response> runtime::functions_api(const http::http_request& r) {
  const auto& p = r.path;
  if (p.size() < 5 || p[0] != "admin" || p[1] != "v3" || p[2] != "functions") return std::nullopt;
  const bool ours = p[3] == functions_tenant && p[4] == functions_namespace;
  if (p.size() == 5) {
    if (r.method != "GET") return reason(405, "only GET lists functions");
    nlohmann::json names = nlohmann::json::array();
    if (ours) {
      for (const auto& u : units_)
        if (u->def.flow.empty()) names.push_back(u->def.spec.name);
    }
    return http::http_response{.body = names.dump()};
  }
  const std::string& name = p[5];
  unit* u = ours ? find_function(name) : nullptr;
  if (u == nullptr) return reason(404, "Function " + name + " doesn't exist");
  const std::string action = p.size() == 7 ? p[6] : (p.size() == 6 ? "" : "?");
  if (r.method == "GET" && action.empty()) {
    return http::http_response{.body = function_config_json(u->def.spec).dump()};
  }
  if (r.method == "GET" && action == "status") {
    return http::http_response{.body = function_status_json(snapshots(*u)).dump()};
  }
  if (r.method == "GET" && action == "stats") {
    return http::http_response{.body = function_stats_json(snapshots(*u)).dump()};
  }
  const auto ex = shards_->executor(0);
  if (r.method == "POST" && (action == "stop" || action == "restart")) {
    asio::co_spawn(ex, stop_function(name, action == "restart"), asio::detached);
    return http::http_response{.status = 204, .content_type = ""};
  }
  if (r.method == "POST" && action == "start") {
    asio::co_spawn(ex, start_function(name), asio::detached);
    return http::http_response{.status = 204, .content_type = ""};
  }
  // Not accepted and ignored: refused, by name. (trigger is slow_request's.)
  return reason(501, r.method + " " + r.target +
                         " is not supported by shfn run yet: functions are created, updated and "
                         "deleted through their spec files and a reload (SIGHUP)");
}

awaitable<void> runtime::stop_function(std::string name, bool start_again) {
  while (reloading_) co_await reloaded_.wait();
  if (stopping_) co_return;
  reloading_ = true;
  unit* u = find_function(name);
  if (u != nullptr && !u->parts.empty()) {
    spdlog::info("{}: stopping it (functions API): draining", name);
    stop_unit(u, clock::now() + options_.drain_timeout);
    co_await drop_parts(u);
    spdlog::info("{}: stopped", name);
  }
  reloading_ = false;
  reloaded_.notify_all();
  if (start_again) co_await start_function(std::move(name));
}

awaitable<void> runtime::start_function(std::string name) {
  while (reloading_) co_await reloaded_.wait();
  if (stopping_) co_return;
  reloading_ = true;
  unit* u = find_function(name);
  if (u != nullptr && u->parts.empty()) {
    make_parts(u);
    auto started = co_await start_unit(u);
    if (started) {
      launch(u, co_await asio::this_coro::executor);
      spdlog::info("{}: started (functions API)", name);
    } else {
      spdlog::error("{}: cannot start: {}", name, started.error().message());
      co_await drop_parts(u);  // start_unit closed what it had started
    }
  }
  reloading_ = false;
  reloaded_.notify_all();
}

std::optional<awaitable<http::http_response>> runtime::slow_request(const http::http_request& r) {
  const auto& p = r.path;
  const bool trigger_path = p.size() == 7 && p[0] == "admin" && p[1] == "v3" &&
                            p[2] == "functions" && p[3] == functions_tenant &&
                            p[4] == functions_namespace && p[6] == "trigger";
  if (!trigger_path || r.method != "POST") return std::nullopt;
  auto form = http::form_fields(r);
  if (!form) {
    return [](http::http_response refused) -> awaitable<http::http_response> {
      co_return refused;
    }(std::move(form.error()));
  }
  return trigger(p[5], std::move(*form));
}

awaitable<http::http_response> runtime::trigger(std::string name,
                                                std::map<std::string, std::string> form) {
  const unit* u = find_function(name);
  if (u == nullptr) co_return reason(404, "Function " + name + " doesn't exist");
  const config::function_spec spec = u->def.spec;  // a copy: a reload may replace the unit
  if (spec.output.empty()) {
    co_return reason(400, "Function " + name + " has no output topic: a trigger would get nothing");
  }
  std::string input = spec.inputs.empty() ? "" : spec.inputs.front();
  if (auto given = form.find("topic"); given != form.end() && !given->second.empty()) {
    auto topic = wire::parse_topic_name(given->second);
    const bool ok = topic && std::ranges::count(spec.inputs, topic->str()) > 0;
    if (!ok) co_return reason(400, given->second + " is not an input of Function " + name);
    input = topic->str();
  }
  if (input.empty()) co_return reason(400, "Function " + name + " has no inputs: give a topic");
  auto data = form.find("data");
  if (data == form.end()) data = form.find("dataStream");
  if (data == form.end()) co_return reason(400, "no data to trigger with (the form's data field)");

  const std::string id = "shfn-trigger-" + event::uuid_v4();
  const client::consumer_options watch{
      .topic = spec.output, .subscription = id, .position = client::initial_position::latest};
  auto outputs = co_await client_.subscribe(watch);
  if (!outputs) {
    co_return reason(503, "cannot read " + spec.output + ": " + outputs.error().message());
  }
  auto sent = co_await publish_once(&client_, input, id, data->second);
  http::http_response answer;
  if (!sent) {
    answer = reason(503, "cannot publish to " + input + ": " + sent.error().message());
  } else {
    const auto wait = (spec.timeout.count() > 0 ? spec.timeout : std::chrono::milliseconds(30000)) +
                      std::chrono::seconds(10);
    answer = co_await output_with_key(outputs->get(), id, clock::now() + wait);
    if (answer.status == 408) {
      answer = reason(
          408, fmt::format("no output of Function {} within {} s: it failed (see its "
                           "status), printed nothing, or set another key",
                           name, std::chrono::duration_cast<std::chrono::seconds>(wait).count()));
    }
  }
  if (auto removed = co_await (*outputs)->unsubscribe(); !removed) co_await (*outputs)->close();
  co_return answer;
}

}  // namespace shfn::flow
