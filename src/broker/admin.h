#pragma once
// The embedded broker's admin HTTP API: a subset of Apache Pulsar's admin REST v2 (tenants,
// namespaces, topics, partitioned topics, subscriptions, stats), a readiness probe and
// Prometheus /metrics.
//
// clang-format off
//   GET    /admin/v2/{domain}/{tenant}/{ns}                                 topic names
//   GET    /admin/v2/{domain}/{tenant}/{ns}/partitioned                     partitioned topics
//   PUT    /admin/v2/{domain}/{tenant}/{ns}/{topic}                         create (not partitioned)
//   DELETE /admin/v2/{domain}/{tenant}/{ns}/{topic}[?force=true]            delete
//   PUT    /admin/v2/{domain}/{tenant}/{ns}/{topic}/partitions   body: N    create partitioned
//   GET    /admin/v2/{domain}/{tenant}/{ns}/{topic}/partitions              {"partitions": N}
//   DELETE /admin/v2/{domain}/{tenant}/{ns}/{topic}/partitions[?force=true] delete partitioned
//   GET    /admin/v2/{domain}/{tenant}/{ns}/{topic}/stats                   Pulsar-shaped stats
//   GET    /admin/v2/{domain}/{tenant}/{ns}/{topic}/partitioned-stats       summed over partitions
//   GET    /admin/v2/{domain}/{tenant}/{ns}/{topic}/subscriptions           subscription names
//   DELETE /admin/v2/{domain}/{tenant}/{ns}/{topic}/subscription/{sub}[?force=true]
//   GET    /admin/v2/brokers/health                                         "ok"
//   GET    /metrics                                                         Prometheus text 0.0.4
//   GET    /lookup/v2/topic/{domain}/{tenant}/{ns}/{topic}                  this broker's URLs
// ({domain} is persistent or non-persistent.) Tenants, namespaces, their policies, clusters and
// brokers: admin_tenancy.h. Cursor moves and a topic's last message id: admin_cursors.h. Stored messages
// (peek-messages, get-message-by-id): admin_messages.h. Any other path under /admin/ or /lookup/ is a route of Pulsar's that
// shfn does not serve: 501, naming it.
// clang-format on
//
// As Pulsar does, deleting a topic or a subscription that has connected clients is refused (412)
// unless force=true, which closes them first. Errors are {"reason": "..."}.
//
// Threads and ownership: the admin_server is owned by its broker and runs on the broker's
// executor, like everything else there, so handlers use the topic registry directly and answer
// without suspending. One coroutine per HTTP connection; stop() closes the listener and every
// connection.
//
// HTTP is http::http_server's (admin/server.h) with its default limits: HTTP/1.0 and 1.1,
// keep-alive, pipelining, Content-Length bodies, Expect: 100-continue; a request head over
// 64 KiB gets 431, a body over 1 MiB 413, anything malformed 400, each closing the connection;
// a connection idle for 60 s is closed.
//
// Rates (msgRateIn, msgThroughputIn, msgRateOut) are per second over the last sampling interval:
// a 1 s timer samples every loaded topic's counters, and a rate is the increase since the
// previous sample divided by the time between the two samples. A counter that went down (topic
// re-created, consumer gone) is taken as restarted from zero. A topic sampled fewer than twice
// reports 0.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "http/http.h"
#include "http/server.h"

namespace shfn::broker {

class broker;

// ------------------------------------------------------------------------------ rates

// Per-second rates of monotonic counters from samples taken at given times (see the top).
class rate_meter {
 public:
  using clock = std::chrono::steady_clock;

  void sample(const std::string& key, std::uint64_t counter, clock::time_point now);
  double rate(const std::string& key) const;  // 0 for a key sampled fewer than twice
  // Forgets counters last sampled before `t` (topics unloaded or deleted since).
  void forget_before(clock::time_point t);
  std::size_t size() const { return series_.size(); }

 private:
  struct series {
    std::uint64_t last = 0;
    clock::time_point at;
    double rate = 0;
  };
  std::map<std::string, series, std::less<>> series_;
};

// ------------------------------------------------------------------------------ the server

class admin_server {
 public:
  // Binds `at` and starts serving on `owner`'s executor.
  static result<std::unique_ptr<admin_server>> start(broker& owner,
                                                     const asio::ip::tcp::endpoint& at);
  // Without a listener: answers only through handle() (broker_options::admin_in_process).
  static std::unique_ptr<admin_server> start_in_process(broker& owner);
  ~admin_server();
  // Serves the same API over https on `at` too (options.admin_tls).
  result<void> serve_tls(const asio::ip::tcp::endpoint& at,
                         std::shared_ptr<asio::ssl::context> tls);

  // Where it listens; none (an empty url) when it runs in process.
  std::optional<asio::ip::tcp::endpoint> endpoint() const;
  std::string url() const { return http_ ? http_->url() : std::string(); }  // http://host:port
  std::string tls_url() const { return https_ ? https_->url() : std::string(); }

  // Answers one request; no I/O. Never throws: an unexpected failure is a 500.
  http::http_response handle(const http::http_request& request);
  // Takes one sample of every loaded topic's counters for the rates.
  void sample(rate_meter::clock::time_point now);

  // Closes the listener and every connection. Idempotent.
  void stop();

 private:
  struct meters {
    rate_meter messages_in;
    rate_meter bytes_in;
    rate_meter messages_out;  // by subscription
  };

  explicit admin_server(broker& owner);
  asio::awaitable<void> sample_loop();

  broker& owner_;
  std::unique_ptr<http::http_server> http_;
  std::unique_ptr<http::http_server> https_;
  asio::steady_timer sample_timer_;
  meters meters_;
  bool stopped_ = false;
};

}  // namespace shfn::broker
