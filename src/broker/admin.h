#pragma once
// The embedded broker's admin HTTP API: a subset of Apache Pulsar's admin REST v2 (topics,
// partitioned topics, subscriptions, stats), a readiness probe and Prometheus /metrics.
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
// ({domain} is persistent or non-persistent.)
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
// HTTP: HTTP/1.0 and 1.1, keep-alive, pipelining, Content-Length bodies (no chunked bodies),
// Expect: 100-continue. A request head over 64 KiB gets 431, a body over 1 MiB 413, anything
// malformed 400; each of those closes the connection. A request must arrive within 60 s of the
// previous answer (or of connecting), else the connection is closed.
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
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "base/result.h"

namespace shfn::broker {

class broker;

// ------------------------------------------------------------------------------ HTTP (sans-I/O)

// Why a request cannot be served; each value is the HTTP status it is answered with.
enum class http_errc {
  bad_request = 400,
  content_too_large = 413,
  header_fields_too_large = 431,
  not_implemented = 501,
  version_not_supported = 505,
};

const std::error_category& http_category();
inline std::error_code make_error_code(http_errc e) {
  return {static_cast<int>(e), http_category()};
}

struct http_limits {
  std::size_t max_head = 64 << 10;  // request line and header fields, blank line included
  std::size_t max_body = 1 << 20;
};

struct http_request {
  std::string method;
  std::string target;                         // as sent
  std::vector<std::string> path;              // segments, percent-decoded
  std::map<std::string, std::string> query;   // percent-decoded
  std::map<std::string, std::string> fields;  // header fields, names lower-cased
  int minor_version = 1;                      // HTTP/1.x
  std::size_t content_length = 0;
  bool keep_alive = true;
  bool expect_continue = false;
  std::string body;
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> fields;  // beyond the ones serialize() adds
};

// Where a request head ends (just past its blank line) in `data`; npos while it is incomplete.
std::size_t find_head_end(std::string_view data);
// Parses a complete request head, as delimited by find_head_end(). Errors are http_errc.
result<http_request> parse_request_head(std::string_view head, const http_limits& limits = {});
std::string serialize(const http_response& response, bool keep_alive);

// A label value escaped for the Prometheus text exposition format: \ " and newline.
std::string escape_label_value(std::string_view value);

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
  ~admin_server();

  asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  std::string url() const;  // http://host:port

  // Answers one request; no I/O. Never throws: an unexpected failure is a 500.
  http_response handle(const http_request& request);
  // Takes one sample of every loaded topic's counters for the rates.
  void sample(rate_meter::clock::time_point now);

  // Closes the listener and every connection. Idempotent.
  void stop();

 private:
  struct connection;
  struct meters {
    rate_meter messages_in;
    rate_meter bytes_in;
    rate_meter messages_out;  // by subscription
  };

  admin_server(broker& owner, asio::ip::tcp::acceptor acceptor);
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> sample_loop();
  asio::awaitable<void> serve(std::shared_ptr<connection> c);
  asio::awaitable<void> answer_and_close(std::shared_ptr<connection> c, http_response response);

  broker& owner_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::endpoint endpoint_;
  asio::steady_timer sample_timer_;
  http_limits limits_;
  meters meters_;
  std::vector<std::weak_ptr<connection>> connections_;
  bool stopped_ = false;
};

}  // namespace shfn::broker

template <>
struct std::is_error_code_enum<shfn::broker::http_errc> : std::true_type {};
