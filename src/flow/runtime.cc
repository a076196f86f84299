#include "flow/runtime.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/dispatch.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "base/spawn.h"
#include "base/version.h"
#include "flow/graph.h"
#include "flow/graph_layout.h"
#include "http/prometheus.h"
#include "ui/ui.h"

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
  plan_ = p;
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
  const std::string& name = u->def.flow.empty() ? u->def.spec.name : u->def.flow;
  if (stopped_through_api(name)) {
    spdlog::info("{}: stopped through the API (kept in {}): not starting it", u->def.spec.name,
                 options_.store->dir().string());
  } else {
    make_parts(u.get());
  }
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

bool runtime::stopped_through_api(const std::string& name) const {
  return options_.store != nullptr && options_.store->stopped(name);
}

std::unique_ptr<runtime::source_unit> runtime::make_source(source_spec spec) {
  auto u = std::make_unique<source_unit>();
  const std::string& name = name_of(spec);
  u->stopped = stopped_through_api(name);
  if (u->stopped) {
    spdlog::info("source {}: stopped through the API (kept in {}): not starting it", name,
                 options_.store->dir().string());
  }
  if (const auto* cron = std::get_if<config::cron_source_spec>(&spec)) {
    const cron_source_options so{.clock = options_.clock};
    u->source = std::make_unique<cron_source>(client_, *cron, so);
  } else {
    const command_source_options so{
        .ingress_url = [this] { return options_.ingress_url ? options_.ingress_url() : ""; },
        .token = options_.source_token,
        .drain_timeout = options_.drain_timeout};
    u->source =
        std::make_unique<command_source>(client_, std::get<config::command_source_spec>(spec), so);
  }
  u->def = std::move(spec);
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
    if (!s->stopped && !s->source->ready()) return false;
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
    if (s->stopped) continue;
    auto started = co_await s->source->start();
    if (!started && !stopping_) {
      outcome = fail(started.error());
      stop();
    }
  }
  if (!stopping_) {
    for (auto& u : units_) launch(u.get(), ex);
    for (auto& s : sources_)
      if (!s->stopped) spawn_held(ex, s->running, s->source->run());
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

awaitable<void> runtime::take_turn() {
  while (!running_ && !stopping_) co_await launched_.wait();
  while (reloading_) co_await reloaded_.wait();
  reloading_ = true;
}

void runtime::end_turn() {
  reloading_ = false;
  reloaded_.notify_all();
}

awaitable<result<void>> runtime::apply(plan next) {
  co_await take_turn();
  auto outcome = co_await apply_in_turn(std::move(next));
  end_turn();
  co_return outcome;
}

awaitable<result<void>> runtime::reload(plan_maker make) {
  co_await take_turn();
  auto next = make();
  result<void> outcome;
  if (!next) {
    for (const auto& e : next.error()) spdlog::error("reload: {}", e);
    spdlog::error("reload: nothing changed; what runs runs on");
    outcome = fail(std::make_error_code(std::errc::invalid_argument));
  } else {
    outcome = co_await apply_in_turn(std::move(*next));
  }
  end_turn();
  co_return outcome;
}

awaitable<result<void>> runtime::apply_in_turn(plan next) {
  if (stopping_) co_return result<void>{};
  if (options_.prepare) {
    if (auto prepared = options_.prepare(next); !prepared) {
      spdlog::error("reload: cannot prepare the broker for it: {}; nothing changed",
                    prepared.error().message());
      co_return prepared;
    }
  }
  plan_ = next;
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
  co_return outcome;
}

awaitable<result<void>> runtime::apply_sources(std::vector<source_spec> next,
                                               asio::any_io_executor ex) {
  std::map<std::string, std::unique_ptr<source_unit>> old;
  for (auto& s : sources_) {
    const std::string name = name_of(s->def);
    old.emplace(name, std::move(s));
  }
  sources_.clear();
  std::vector<std::unique_ptr<source_unit>> leaving;
  std::vector<source_spec> starting;
  for (auto& spec : next) {
    const std::string& name = name_of(spec);
    auto it = old.find(name);
    if (it != old.end() && same_definition(it->second->def, spec)) {
      sources_.push_back(std::move(it->second));
      old.erase(it);
      continue;
    }
    spdlog::info("reload: source {} {}", name,
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
    if (s->stopped) {
      sources_.push_back(std::move(s));
      continue;
    }
    auto started = co_await s->source->start();
    if (!started) {
      spdlog::error("reload: source {} cannot start: {}", name_of(s->def),
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

http::http_response runtime::graph_response(const http::http_request& r) const {
  const auto format = r.query.contains("format") ? r.query.at("format") : std::string("svg");
  const graph g = graph_of(plan_);
  if (format == "svg") return {.content_type = "image/svg+xml", .body = to_svg(g, lay_out(g))};
  if (format == "dot") return {.content_type = "text/vnd.graphviz", .body = to_dot(g)};
  if (format == "mermaid") return {.content_type = "text/plain", .body = to_mermaid(g)};
  return http::error_response(400, "format " + format + ": svg, dot or mermaid");
}

bool runtime::authorized(const http::http_request& r) const {
  // The live view's page holds no data: it asks for a token, then sends it with its requests.
  const bool page = r.path.empty() || (r.path.size() == 1 && r.path[0] == "ui");
  const bool open_path =
      page || (r.path.size() == 1 &&
               (r.path[0] == "healthz" || r.path[0] == "readyz" || r.path[0] == "metrics"));
  return !options_.authenticate || open_path || options_.authenticate(r);
}

http::http_response runtime::handle(const http::http_request& request) {
  const auto& path = request.path;
  if (!authorized(request)) return http::error_response(401, "Authentication required");
  if (auto answered = functions_api(request)) return std::move(*answered);
  if (auto answered = flows_api(request)) return std::move(*answered);
  const bool for_broker = !path.empty() && (path[0] == "admin" || path[0] == "lookup");
  if (for_broker && options_.broker_admin) return options_.broker_admin(request);
  if (request.method != "GET" && request.method != "HEAD") {
    return {.status = 405, .body = R"({"reason": "only GET"})"};
  }
  if (path.size() == 1 && path[0] == "healthz") {
    return {.content_type = "text/plain", .body = "ok\n"};
  }
  if (path.empty() || (path.size() == 1 && path[0] == "ui")) {
    return {.content_type = "text/html; charset=utf-8", .body = std::string(ui::live_page())};
  }
  if (path.size() == 1 && path[0] == "graph") return graph_response(request);
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

}  // namespace shfn::flow
