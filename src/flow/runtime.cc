#include "flow/runtime.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/dispatch.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "base/spawn.h"
#include "base/version.h"
#include "http/prometheus.h"

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
    : options_(std::move(options)) {
  auto shards = shard_set::start(c, std::max(1, options_.threads));
  if (!shards) {
    spdlog::warn("cannot make a client per thread ({}): running on one thread",
                 shards.error().message());
    shards = shard_set::start(c, 1);
  }
  shards_ = std::move(*shards);
  std::size_t next_shard = 0;
  for (auto& s : p.stages) add_stage(std::move(s), next_shard);
  for (auto& source : p.sources) {
    const cron_source_options so{.clock = options_.clock};
    sources_.push_back(std::make_unique<cron_source>(c, std::move(source), so));
  }
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

void runtime::add_stage(stage s, std::size_t& next_shard) {
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
    const std::size_t shard = next_shard++ % shards_->size();
    instances_.push_back(std::make_unique<function::function_instance>(
        shards_->client(shard), std::move(spec), std::move(io)));
    shard_of_.push_back(shard);
  }
}

result<void> runtime::serve_admin(asio::any_io_executor ex, const asio::ip::tcp::endpoint& at) {
  http::http_server::handler h = [this](const http::http_request& r) { return handle(r); };
  auto server = http::http_server::start(std::move(ex), at, h);
  if (!server) return fail(server.error());
  admin_ = std::move(*server);
  return {};
}

std::string runtime::admin_url() const {
  return admin_ ? admin_->url() : std::string();
}

bool runtime::ready() const {
  if (stopping_) return false;
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    if (!read_instance(i, [](const function::function_instance& fi) { return fi.ready(); })) {
      return false;
    }
  }
  for (const auto& s : sources_) {
    if (!s->ready()) return false;
  }
  return true;
}

bool runtime::broker_disk_full() const {
  return options_.broker_disk_full && options_.broker_disk_full();
}

bool runtime::idle() const {
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    if (read_instance(i, [](const function::function_instance& fi) { return fi.in_flight(); }) >
        0) {
      return false;
    }
  }
  return true;
}

awaitable<result<void>> runtime::start_instance(std::size_t i) {
  co_return co_await asio::co_spawn(shards_->executor(shard_of_[i]), instances_[i]->start(),
                                    asio::use_awaitable);
}

awaitable<void> runtime::run_instance(std::size_t i) {
  co_await asio::co_spawn(shards_->executor(shard_of_[i]), instances_[i]->run(),
                          asio::use_awaitable);
}

awaitable<result<void>> runtime::run(std::function<void()> on_ready) {
  auto ex = co_await asio::this_coro::executor;
  result<void> outcome;
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    auto started = co_await start_instance(i);
    if (!started && !stopping_) {
      outcome = fail(started.error());
      stop();
    }
    if (stopping_) break;
  }
  for (auto& source : sources_) {
    if (stopping_) break;
    auto started = co_await source->start();
    if (!started && !stopping_) {
      outcome = fail(started.error());
      stop();
    }
  }
  gate running;
  if (!stopping_) {
    for (std::size_t i = 0; i < instances_.size(); ++i) {
      spawn_held(ex, running, run_instance(i));
    }
    for (auto& source : sources_) {
      spawn_held(ex, running, source->run());
    }
    if (on_ready) on_ready();
  }
  while (!stopping_) co_await stopped_.wait();
  co_await running.close();
  if (admin_) admin_->stop();
  co_return outcome;
}

void runtime::stop() {
  if (stopping_) return;
  stopping_ = true;
  const auto deadline = clock::now() + options_.drain_timeout;
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    function::function_instance* instance = instances_[i].get();
    asio::dispatch(shards_->executor(shard_of_[i]),
                   [instance, deadline] { instance->stop(deadline); });
  }
  for (auto& source : sources_) source->stop();
  stopped_.notify_all();
}

http::http_response runtime::handle(const http::http_request& request) const {
  const auto& path = request.path;
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
    for (std::size_t i = 0; i < instances_.size(); ++i) {
      all.push_back(read_instance(i, [](const function::function_instance& fi) {
        return function::labelled_metrics{fi.spec().name, fi.instance_id(), fi.metrics()};
      }));
    }
    std::string body = function::render_prometheus(all);
    if (options_.broker_disk_full) body += render_disk_full_gauge(broker_disk_full());
    return {.content_type = std::string(http::prometheus_content_type), .body = std::move(body)};
  }
  if (path.size() == 1 && path[0] == "status") {
    nlohmann::json body = {{"ready", ready()}, {"instances", nlohmann::json::array()}};
    if (options_.broker_disk_full) body["broker"] = {{"disk_full", broker_disk_full()}};
    for (std::size_t i = 0; i < instances_.size(); ++i) {
      body["instances"].push_back(
          read_instance(i, [](const function::function_instance& fi) { return fi.status(); }));
    }
    body["sources"] = nlohmann::json::array();
    for (const auto& s : sources_) body["sources"].push_back(s->status());
    return {.body = body.dump(2) + "\n"};
  }
  return {.status = 404, .body = R"({"reason": "not found"})"};
}

}  // namespace shfn::flow
