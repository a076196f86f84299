#pragma once
// A small HTTP/1.x server on Asio for admin endpoints (the broker's admin API, the function
// runtime's health, readiness, metrics and status): one coroutine per connection, requests
// parsed by http/http.h and answered by a handler that does not suspend.
//
// Behaviour: keep-alive and pipelining (requests on one connection are answered in order, one
// at a time); blank lines before a request line are ignored; Expect: 100-continue is answered
// before the body is read. A request head over limits.max_head gets 431, a body over
// limits.max_body 413, a Transfer-Encoding 501, an HTTP version other than 1.0 / 1.1 505,
// anything else malformed 400: each as error_response() ({"reason": "..."}), and each closes
// the connection. Before closing, the server stops sending and reads (and drops) what the
// client still sends, for up to 2 s or 4 MiB, so that the client is not reset before it reads
// the answer. A connection on which no request arrives within limits.idle_timeout (after
// connecting or after the previous answer) is closed, and so is one whose request head, once
// begun, is not whole within limits.head_timeout (a client trickling its header fields). A
// client address holding limits.max_connections_per_address has further connections closed on
// accept. A handler that throws is answered 500.
//
// Threads and ownership: the server runs on the executor it was started with; its owner holds
// it by unique_ptr and calls stop() and the destructor on that executor (or once it no longer
// runs). The handler runs there too, is never called after stop(), and may use whatever its
// owner owns. Connections and the accept loop keep the server's internal state alive until
// they have unwound, so the server may be destroyed right after stop() while the executor
// still runs.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "http/http.h"
#include "http/transport.h"

namespace shfn::http {

class http_server {
 public:
  // Answers one request without suspending. Not called after stop().
  using handler = std::function<http_response(const http_request&)>;
  // For the few requests whose answer must wait (the functions API's trigger waits for an
  // output): an awaitable answer, or nullopt to leave the request to the handler. Called first,
  // on the server's executor; the connection waits for the answer, in order with the others.
  using slow_handler =
      std::function<std::optional<asio::awaitable<http_response>>(const http_request&)>;

  // Binds `at` (port 0: any free port, see endpoint()) and starts serving on `executor`, over
  // TLS (https) when given a context (transport.h). Errors are the bind's (address in use, ...).
  static result<std::unique_ptr<http_server>> start(
      asio::any_io_executor executor, const asio::ip::tcp::endpoint& at, handler handle,
      http_limits limits = {}, std::shared_ptr<asio::ssl::context> tls = nullptr);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  void answer_later(slow_handler h);

  asio::ip::tcp::endpoint endpoint() const;  // the bound address, with the actual port
  std::string url() const;  // http://host:port ([host] for IPv6), https:// over TLS

  // Closes the listener and every connection. Idempotent.
  void stop();

 private:
  struct state;
  explicit http_server(std::shared_ptr<state> s);

  std::shared_ptr<state> state_;
};

}  // namespace shfn::http
