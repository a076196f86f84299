#pragma once
// The embedded broker: a single-node server for the Pulsar binary protocol with durable storage.
//
//   broker      runs on a caller's executor (`shfn broker` runs it on the main thread);
//   broker_thread  runs one on a thread of its own, for `shfn run` and for tests.
//
// Start-up takes the data directory's lock, binds the listener (and the admin HTTP API's, see
// broker/admin.h, unless options.admin is empty) and is ready: topics load lazily on first use,
// so readiness does not depend on the amount of data.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/result.h"
#include "broker/context.h"
#include "broker/options.h"
#include "broker/registry.h"
#include "http/http.h"
#include "storage/dir_lock.h"

namespace shfn::broker {

class session;
class admin_server;

class broker {
 public:
  static result<std::unique_ptr<broker>> start(asio::any_io_executor executor,
                                               broker_options options);
  ~broker();

  asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  std::string service_url() const;                                      // pulsar://host:port
  std::string tls_service_url() const { return ctx_.tls_service_url; }  // pulsar+ssl://, or ""
  std::string admin_tls_url() const;  // https://host:port, or "" without options.admin_tls
  // The admin HTTP API's; none (empty) when options.admin is empty.
  std::optional<asio::ip::tcp::endpoint> admin_endpoint() const;
  std::string admin_url() const;  // http://host:port, or the one advertised
  // Where the admin API is served when a host serves it (admin_in_process): clusters and
  // brokers are named by it.
  void advertise_admin_url(std::string url) { advertised_admin_url_ = std::move(url); }
  // Creates the tenants and namespaces of `namespaces` ("tenant", "ns") that do not exist yet,
  // logging each; for `shfn run` and `shfn test`, whose spec names them.
  result<void> create_namespaces(const std::set<std::pair<std::string, std::string>>& namespaces);
  // One request to the admin API (404 when it is off). On the broker's executor.
  http::http_response admin(const http::http_request& request);
  topic_registry& topics() { return topics_; }
  broker_context& context() { return ctx_; }
  std::size_t connection_count() const;  // open client connections
  // Entries not acknowledged, summed over the durable subscriptions of the loaded topics: 0
  // when every consumer has acknowledged everything stored.
  std::uint64_t backlog() const;

  // Closes the listener and every connection, then waits for pending syncs. Idempotent.
  void stop();

 private:
  broker(asio::any_io_executor executor, const broker_options& options, storage::dir_lock lock);
  // Accepts on `acceptor`, over TLS when `tls` is given; both outlive the loop.
  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor* acceptor, asio::ssl::context* tls);
  result<void> listen_tls(const std::string& at);
  result<void> start_admin();
  asio::awaitable<void> maintenance_loop();
  asio::awaitable<void> disk_watch();

  storage::dir_lock lock_;
  broker_context ctx_;
  topic_registry topics_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::acceptor tls_acceptor_;
  std::shared_ptr<asio::ssl::context> tls_;  // set when serving pulsar+ssl:// or https
  asio::steady_timer maintenance_timer_;
  asio::steady_timer disk_timer_;
  asio::ip::tcp::endpoint endpoint_;
  std::vector<std::weak_ptr<session>> sessions_;
  std::unique_ptr<admin_server> admin_;
  std::string advertised_admin_url_;
  bool stopped_ = false;
};

// A broker on its own thread and io_context.
class broker_thread {
 public:
  static result<std::unique_ptr<broker_thread>> start(broker_options options);
  ~broker_thread();  // stops the broker and joins

  std::string service_url() const { return url_; }
  std::string tls_service_url() const { return tls_url_; }      // empty without TLS
  std::string admin_url() const { return admin_url_; }          // empty when the admin API is off
  std::string admin_tls_url() const { return admin_tls_url_; }  // empty without https
  // broker::backlog(), read on the broker's thread; the caller resumes on its own executor.
  asio::awaitable<std::uint64_t> backlog();
  // The broker refuses producers because its disk is full (disk_space.h); from any thread.
  bool disk_full() const;
  // broker::admin() and advertise_admin_url() from any thread: run on the broker's thread,
  // whose admin handlers never suspend, so the caller waits only for the broker's queue.
  http::http_response admin(const http::http_request& request);
  void advertise_admin_url(std::string url);
  result<void> create_namespaces(const std::set<std::pair<std::string, std::string>>& namespaces);

 private:
  broker_thread() = default;

  asio::io_context io_{1};
  std::unique_ptr<broker> broker_;
  std::string url_;
  std::string tls_url_;
  std::string admin_url_;
  std::string admin_tls_url_;
  std::thread thread_;
};

// "host:port" -> endpoint; the host must be an IP address.
result<asio::ip::tcp::endpoint> parse_listen_address(const std::string& listen);

}  // namespace shfn::broker
