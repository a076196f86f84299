#include "flow/ingress.h"

#include <fmt/format.h>

#include <algorithm>

#include "client/producer.h"
#include "event/http_binding.h"
#include "event/pulsar_binding.h"
#include "function/stage.h"

namespace shfn::flow {

using asio::awaitable;

namespace {

const ingress_route* find_route(const std::vector<ingress_route>& routes, const std::string& ns,
                                const std::string& name) {
  auto it = std::ranges::find_if(
      routes, [&](const ingress_route& r) { return r.ns == ns && r.name == name; });
  return it == routes.end() ? nullptr : &*it;
}

http::http_response not_found(const http::http_request& r) {
  return http::error_response(
      404, fmt::format("no Broker, Parallel or Sequence at {}: POST events to /NAMESPACE/NAME",
                       r.target));
}

}  // namespace

event_ingress::event_ingress(client::client& c, options o) : client_(c), options_(std::move(o)) {}

event_ingress::~event_ingress() {
  if (server_) server_->stop();
}

result<void> event_ingress::serve(asio::any_io_executor ex, const asio::ip::tcp::endpoint& at) {
  http::http_server::handler h = [this](const http::http_request& r) { return answer_at_once(r); };
  auto server = http::http_server::start(std::move(ex), at, h);
  if (!server) return fail(server.error());
  server_ = std::move(*server);
  server_->answer_later([this](const http::http_request& r) { return answer_post(r); });
  return {};
}

std::string event_ingress::url() const {
  return server_ ? server_->url() : std::string();
}

// Everything but a POST that may be published: refusals, and OPTIONS.
http::http_response event_ingress::answer_at_once(const http::http_request& r) const {
  if (options_.authenticate && !options_.authenticate(r))
    return http::error_response(401, "this ingress needs a token (Authorization: Bearer)");
  if (r.path.size() != 2 || !find_route(options_.routes(), r.path[0], r.path[1]))
    return not_found(r);
  if (r.method == "OPTIONS")
    return {.status = 200, .content_type = "", .fields = {{"Allow", "POST, OPTIONS"}}};
  http::http_response refused = http::error_response(
      405, fmt::format("{} is not taken here: POST a CloudEvent to {}", r.method, r.target));
  refused.fields.emplace_back("Allow", "POST, OPTIONS");
  return refused;
}

std::optional<awaitable<http::http_response>> event_ingress::answer_post(
    const http::http_request& r) {
  if (r.method != "POST" || r.path.size() != 2) return std::nullopt;
  if (options_.authenticate && !options_.authenticate(r)) return std::nullopt;
  const ingress_route* route = find_route(options_.routes(), r.path[0], r.path[1]);
  if (route == nullptr) return std::nullopt;
  const event::header_list headers(r.fields.begin(), r.fields.end());
  auto decoded = event::from_http(headers, as_bytes(std::string_view(r.body)));
  std::string problem;
  if (!decoded)
    problem = decoded.error().to_string();
  else if (!*decoded)
    problem =
        "no CloudEvent in the request: send one in binary mode (ce-* headers) or "
        "structured mode (Content-Type: application/cloudevents+json)";
  if (!problem.empty()) {
    return [](std::string reason) -> awaitable<http::http_response> {
      co_return http::error_response(400, reason);
    }(std::move(problem));
  }
  event::cloud_event e = std::move(**decoded);
  if (route->kind == "Broker" && !event::attribute(e, function::broker_ttl_attribute))
    event::add_unique_attribute(e, function::broker_ttl_attribute,
                                std::to_string(function::broker_ttl));
  return publish(route->topic, std::move(e));
}

awaitable<http::http_response> event_ingress::publish(std::string topic, event::cloud_event e) {
  client::producer* p = co_await producer_for(topic);
  if (p == nullptr) {
    co_return http::error_response(503,
                                   fmt::format("cannot publish to {} now: send it again", topic));
  }
  auto parts = event::encode_binary(e);
  client::outgoing_message m{.payload = std::move(parts.payload),
                             .properties = std::move(parts.props)};
  if (auto key = event::attribute(e, "partitionkey")) m.key = std::string(*key);
  auto stored = co_await p->send(std::move(m), true);
  if (!stored) {
    co_return http::error_response(
        503, fmt::format("{} did not store the event ({}): send it again", topic,
                         stored.error().message()));
  }
  co_return http::http_response{.status = 202, .content_type = ""};
}

// The topic's producer, made by the first request that needs it while the others wait; null when
// it cannot be made (the next request tries again).
awaitable<client::producer*> event_ingress::producer_for(std::string topic) {
  auto& slot = producers_[topic];
  if (!slot) slot = std::make_shared<producer_slot>();
  const std::shared_ptr<producer_slot> held = slot;
  while (held->creating) co_await held->made.wait();
  if (held->producer) co_return held->producer.get();
  held->creating = true;
  const client::producer_options options{.topic = topic};
  auto made = co_await client_.create_producer(options);
  held->creating = false;
  held->made.notify_all();
  if (!made) co_return nullptr;
  held->producer = std::move(*made);
  co_return held->producer.get();
}

awaitable<void> event_ingress::close() {
  if (server_) server_->stop();
  for (auto& [topic, slot] : producers_) {
    if (slot->producer) co_await slot->producer->close();
  }
  producers_.clear();
}

}  // namespace shfn::flow
