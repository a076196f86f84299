#pragma once
// The HTTP ingress of a running plan, on a port of its own (`shfn run --ingress-port`), as a
// Knative Broker's ingress is:
//
//   POST /NS/NAME   a CloudEvent in binary or structured mode (CloudEvents HTTP binding) goes
//                   into the topic of the Broker, Parallel or Sequence NAME of namespace NS
//     202  stored: the broker's receipt is in, so the event survives a crash
//     400  no CloudEvent, or an invalid one (the reason says which attribute and why)
//     401  token authentication is on and the request has no valid token
//     404  no Broker, Parallel or Sequence at that path
//     405  another method (OPTIONS answers 200 with Allow: POST, as Knative's data plane allows)
//     413  a body over 1 MiB (http_limits' default)
//     503  the broker cannot take the event now (unreachable, full): send it again
//
// An event sent into a Broker without Knative's knativebrokerttl extension gets 255 (its
// Triggers' replies count it down: plan.h). The event is published in binary mode, one message
// per request, with `partitionkey` (Knative's partitioning extension) as its key when it has one.
//
// Threads: everything on the executor serve() was given (the runtime's); one producer per topic,
// made on first use and kept until close().

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/notifier.h"
#include "base/result.h"
#include "client/client.h"
#include "event/event.h"
#include "flow/plan.h"
#include "http/server.h"

namespace shfn::flow {

class event_ingress {
 public:
  struct options {
    // The routes of the plan running now (a reload changes them).
    std::function<const std::vector<ingress_route>&()> routes;
    // Token authentication: whether a request carries a valid token. Unset: none asked.
    std::function<bool(const http::http_request&)> authenticate;
  };

  event_ingress(client::client& c, options o);
  ~event_ingress();
  event_ingress(const event_ingress&) = delete;
  event_ingress& operator=(const event_ingress&) = delete;

  result<void> serve(asio::any_io_executor ex, const asio::ip::tcp::endpoint& at);
  std::string url() const;
  // Stops taking requests and closes the producers.
  asio::awaitable<void> close();

 private:
  struct producer_slot {
    std::unique_ptr<client::producer> producer;
    bool creating = false;
    notifier made;
  };

  http::http_response answer_at_once(const http::http_request& r) const;
  std::optional<asio::awaitable<http::http_response>> answer_post(const http::http_request& r);
  asio::awaitable<http::http_response> publish(std::string topic, event::cloud_event e);
  asio::awaitable<client::producer*> producer_for(std::string topic);

  client::client& client_;
  options options_;
  std::unique_ptr<http::http_server> server_;
  std::map<std::string, std::shared_ptr<producer_slot>> producers_;  // by topic
};

}  // namespace shfn::flow
