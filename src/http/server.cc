#include "http/server.h"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "base/accept_failures.h"
#include "base/log.h"
#include "base/notifier.h"

namespace shfn::http {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

// After the last answer on a connection: how long, and how much, to read and discard what the
// client still sends, so that closing does not reset the connection before it read the answer.
constexpr auto linger_timeout = std::chrono::seconds(2);
constexpr std::size_t linger_max_bytes = 4 << 20;
constexpr std::size_t read_chunk = 16 << 10;

struct connection {
  connection(asio::ip::tcp::socket s, asio::ssl::context* tls)
      : deadline(s.get_executor()), stream(std::move(s), tls) {}

  // Closes the connection unless arm() is called again within `d`.
  static void arm(const std::shared_ptr<connection>& c, std::chrono::steady_clock::duration d) {
    c->deadline.expires_after(d);
    c->deadline.async_wait([weak = std::weak_ptr<connection>(c)](std::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      if (self->deadline.expiry() <= std::chrono::steady_clock::now()) self->close();
    });
  }

  // Appends what the client sends next to `input`; false (and closed) on an error or a stop.
  // `chunk` and `stopped` are the caller's, alive until this returns; `stopped` is read after the
  // read completes.
  awaitable<bool> read_more(std::array<char, read_chunk>* chunk, const bool* stopped) {
    const auto [ec, n] = co_await stream.read_some(asio::buffer(*chunk));
    if (ec || *stopped) {
      close();
      co_return false;
    }
    input.append(chunk->data(), n);
    co_return true;
  }

  void close() {
    stream.close();
    deadline.cancel();
  }

  asio::steady_timer deadline;
  transport stream;
  std::string input;  // received, not yet consumed
};

std::string url_of(const asio::ip::tcp::endpoint& endpoint, bool secure = false) {
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return (secure ? "https://" : "http://") + host + ":" + std::to_string(endpoint.port());
}

}  // namespace

// What the accept loop and the connections share with the server object; they hold it by
// shared_ptr, so it outlives the http_server until they have unwound.
struct http_server::state {
  state(asio::ip::tcp::acceptor a, handler h, http_limits l)
      : acceptor(std::move(a)), handle(std::move(h)), limits(l) {}

  static awaitable<void> accept_loop(std::shared_ptr<state> s);
  static awaitable<void> serve(std::shared_ptr<state> s, std::shared_ptr<connection> c);
  static awaitable<void> answer_and_close(std::shared_ptr<state> s, std::shared_ptr<connection> c,
                                          http_response response);
  // The handler's answer (the slow handler's, when it takes the request), or a 500 when it
  // throws.
  static awaitable<http_response> answer(std::shared_ptr<state> s, http_request request);
  http_response answer_now(const http_request& request) const;
  http_response failed(const http_request& request, const char* what) const;
  // Whether the peer of `socket` holds limits.max_connections_per_address already (logged once
  // per address and burst).
  bool at_address_limit(const asio::ip::tcp::socket& socket);

  asio::ip::tcp::acceptor acceptor;
  asio::ip::tcp::endpoint endpoint;
  std::shared_ptr<asio::ssl::context> tls;  // null: plain HTTP
  handler handle;
  slow_handler slow;
  http_limits limits;
  std::vector<std::weak_ptr<connection>> connections;
  std::optional<asio::ip::address> refusing;  // the address last refused, to log once
  bool stopped = false;
};

http_server::http_server(std::shared_ptr<state> s) : state_(std::move(s)) {}

result<std::unique_ptr<http_server>> http_server::start(asio::any_io_executor executor,
                                                        const asio::ip::tcp::endpoint& at,
                                                        handler handle, http_limits limits,
                                                        std::shared_ptr<asio::ssl::context> tls) {
  asio::ip::tcp::acceptor acceptor(executor);
  std::error_code ec;
  acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec);
  auto s = std::make_shared<state>(std::move(acceptor), std::move(handle), limits);
  s->tls = std::move(tls);
  s->endpoint = s->acceptor.local_endpoint(ec);
  if (ec) return fail(ec);
  asio::co_spawn(executor, state::accept_loop(s), asio::detached);
  return std::unique_ptr<http_server>(new http_server(std::move(s)));
}

http_server::~http_server() {
  stop();
}

asio::ip::tcp::endpoint http_server::endpoint() const {
  return state_->endpoint;
}

std::string http_server::url() const {
  return url_of(state_->endpoint, state_->tls != nullptr);
}

void http_server::stop() {
  state& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  std::error_code ignored;
  s.acceptor.close(ignored);
  for (auto& w : s.connections) {
    if (auto c = w.lock()) c->close();
  }
  s.connections.clear();
}

void http_server::answer_later(slow_handler h) {
  state_->slow = std::move(h);
}

awaitable<http_response> http_server::state::answer(std::shared_ptr<state> s,
                                                    http_request request) {
  std::optional<awaitable<http_response>> later;
  try {
    if (s->slow) later = s->slow(request);
    if (later) co_return co_await std::move(*later);
  } catch (const std::exception& e) {
    co_return s->failed(request, e.what());
  } catch (...) {
    co_return s->failed(request, nullptr);
  }
  co_return s->answer_now(request);
}

http_response http_server::state::failed(const http_request& request, const char* what) const {
  if (what == nullptr) {
    spdlog::error("{}: {} {} failed", url_of(endpoint), request.method, request.target);
    return error_response(500, "internal error");
  }
  spdlog::error("{}: {} {} failed: {}", url_of(endpoint), request.method, request.target, what);
  return error_response(500, std::string("internal error: ") + what);
}

http_response http_server::state::answer_now(const http_request& request) const {
  try {
    return handle(request);
  } catch (const std::exception& e) {
    return failed(request, e.what());
  } catch (...) {
    return failed(request, nullptr);
  }
}

awaitable<void> http_server::state::accept_loop(std::shared_ptr<state> s) {
  accept_failures failures("HTTP server on " + url_of(s->endpoint));
  while (!s->stopped) {
    std::error_code ec;
    auto socket = co_await s->acceptor.async_accept(redirect_error(use_awaitable, ec));
    if (s->stopped) break;
    if (ec) {
      co_await sleep_for(failures.failed(ec));
      continue;
    }
    failures.succeeded();
    std::erase_if(s->connections, [](const auto& w) { return w.expired(); });
    if (s->at_address_limit(socket)) {
      std::error_code ignored;
      socket.close(ignored);
      continue;
    }
    auto c = std::make_shared<connection>(std::move(socket), s->tls.get());
    s->connections.push_back(c);
    asio::co_spawn(s->acceptor.get_executor(), serve(s, std::move(c)), asio::detached);
  }
}

bool http_server::state::at_address_limit(const asio::ip::tcp::socket& socket) {
  std::error_code ec;
  const auto peer = socket.remote_endpoint(ec).address();
  if (ec) return false;
  std::size_t held = 0;
  for (const auto& w : connections) {
    auto c = w.lock();
    if (!c) continue;
    const auto other = c->stream.socket().remote_endpoint(ec);
    if (!ec && other.address() == peer) ++held;
  }
  if (held < limits.max_connections_per_address) {
    if (refusing == peer) refusing.reset();
    return false;
  }
  if (refusing != peer) {
    spdlog::warn("HTTP server on {}: {} holds {} connections; refusing more from it",
                 url_of(endpoint), peer.to_string(), held);
    refusing = peer;
  }
  return true;
}

awaitable<void> http_server::state::serve(std::shared_ptr<state> s, std::shared_ptr<connection> c) {
  std::array<char, read_chunk> chunk{};
  // A TLS handshake has the time a request head has.
  connection::arm(c, s->limits.head_timeout);
  if (auto failed = co_await c->stream.handshake()) {
    std::error_code ec;
    const auto peer = c->stream.socket().remote_endpoint(ec);
    spdlog::info("{}: TLS handshake with {} failed: {}", url_of(s->endpoint, true),
                 ec ? std::string("?") : peer.address().to_string(), *failed);
    c->close();
    co_return;
  }
  while (!s->stopped) {
    connection::arm(c, s->limits.idle_timeout);
    // The head. Blank lines before a request line are ignored (RFC 9112, 2.2). Once it has
    // begun, it has head_timeout to arrive whole.
    std::size_t head_end = std::string::npos;
    bool head_begun = false;
    while (true) {
      const auto first = c->input.find_first_not_of("\r\n");
      c->input.erase(0, first == std::string::npos ? c->input.size() : first);
      if (!head_begun && !c->input.empty()) {
        head_begun = true;
        connection::arm(c, s->limits.head_timeout);
      }
      head_end = find_head_end(c->input);
      if (head_end != std::string::npos || c->input.size() > s->limits.max_head) break;
      const bool more = co_await c->read_more(&chunk, &s->stopped);
      if (!more) co_return;
    }
    connection::arm(c, s->limits.idle_timeout);  // for the body
    if (head_end == std::string::npos || head_end > s->limits.max_head) {
      http_response refused =
          error_response(431, make_error_code(http_errc::header_fields_too_large).message());
      co_await answer_and_close(s, c, std::move(refused));
      co_return;
    }
    auto request = parse_request_head(std::string_view(c->input).substr(0, head_end), s->limits);
    if (!request) {
      const int status =
          request.error().category() == http_category() ? request.error().value() : 400;
      http_response refused = error_response(status, request.error().message());
      co_await answer_and_close(s, c, std::move(refused));
      co_return;
    }
    c->input.erase(0, head_end);

    // The body.
    if (request->expect_continue && c->input.size() < request->content_length) {
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      const auto ec = co_await c->stream.write(asio::buffer(go_on.data(), go_on.size()));
      if (ec || s->stopped) {
        c->close();
        co_return;
      }
    }
    while (c->input.size() < request->content_length) {
      const bool more = co_await c->read_more(&chunk, &s->stopped);
      if (!more) co_return;
    }
    request->body = c->input.substr(0, request->content_length);
    c->input.erase(0, request->content_length);

    const bool keep_alive = request->keep_alive;
    http_response response = co_await state::answer(s, std::move(*request));
    if (!keep_alive || s->stopped) {
      co_await answer_and_close(s, c, std::move(response));
      co_return;
    }
    const std::string out = serialize(response, true);
    if (co_await c->stream.write(asio::buffer(out))) break;
  }
  c->close();
}

awaitable<void> http_server::state::answer_and_close(std::shared_ptr<state> s,
                                                     std::shared_ptr<connection> c,
                                                     http_response response) {
  const std::string out = serialize(response, false);
  if (co_await c->stream.write(asio::buffer(out)) || s->stopped) {
    c->close();
    co_return;
  }
  // Half-close, then drain: closing with unread input would reset the connection, and the
  // client could lose the answer (an oversized body it is still sending, say).
  c->stream.shutdown_send();
  connection::arm(c, linger_timeout);
  std::array<char, read_chunk> chunk{};
  std::size_t discarded = 0;
  while (discarded < linger_max_bytes && !s->stopped) {
    const auto [ec, n] = co_await c->stream.read_some(asio::buffer(chunk));
    if (ec) break;
    discarded += n;
  }
  c->close();
}

}  // namespace shfn::http
