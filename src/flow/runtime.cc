#include "flow/runtime.h"

#include <algorithm>
#include <asio/this_coro.hpp>
#include <nlohmann/json.hpp>

#include "base/spawn.h"
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
  for (auto& s : p.stages) {
    function::instance_options io{.instance_id = options_.instance_id,
                                  .scratch_dir = options_.scratch_dir,
                                  .pattern_discovery = options_.pattern_discovery,
                                  .stage = std::move(s.options)};
    instances_.push_back(
        std::make_unique<function::function_instance>(c, std::move(s.spec), std::move(io)));
  }
  for (auto& source : p.sources) {
    const cron_source_options so{.clock = options_.clock};
    sources_.push_back(std::make_unique<cron_source>(c, std::move(source), so));
  }
}

runtime::~runtime() {
  if (admin_) admin_->stop();
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
  for (const auto& i : instances_) {
    if (!i->ready()) return false;
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
  return std::ranges::all_of(instances_, [](const auto& i) { return i->in_flight() == 0; });
}

awaitable<result<void>> runtime::run(std::function<void()> on_ready) {
  auto ex = co_await asio::this_coro::executor;
  result<void> outcome;
  for (auto& instance : instances_) {
    auto started = co_await instance->start();
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
    for (auto& instance : instances_) {
      spawn_held(ex, running, instance->run());
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
  for (auto& instance : instances_) instance->stop(deadline);
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
    for (const auto& i : instances_) {
      all.push_back({i->spec().name, i->instance_id(), i->metrics()});
    }
    std::string body = function::render_prometheus(all);
    if (options_.broker_disk_full) body += render_disk_full_gauge(broker_disk_full());
    return {.content_type = std::string(http::prometheus_content_type), .body = std::move(body)};
  }
  if (path.size() == 1 && path[0] == "status") {
    nlohmann::json body = {{"ready", ready()}, {"instances", nlohmann::json::array()}};
    if (options_.broker_disk_full) body["broker"] = {{"disk_full", broker_disk_full()}};
    for (const auto& i : instances_) body["instances"].push_back(i->status());
    body["sources"] = nlohmann::json::array();
    for (const auto& s : sources_) body["sources"].push_back(s->status());
    return {.body = body.dump(2) + "\n"};
  }
  return {.status = 404, .body = R"({"reason": "not found"})"};
}

}  // namespace shfn::flow
