#include "http/http_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cctype>
#include <memory>
#include <optional>

#include "base/notifier.h"
#include "base/strings.h"
#include "http/http_text.h"

namespace shfn::http {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

using http_text::is_tchar;

constexpr std::size_t read_chunk = 16 << 10;

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// The port after "host:", or nullopt; an empty one is the default (RFC 3986 allows "host:").
std::optional<std::uint16_t> parse_port(std::string_view s, std::uint16_t default_port) {
  if (s.empty()) return default_port;
  if (s.size() > 5 || !std::ranges::all_of(s, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int port = std::stoi(std::string(s));
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

result<std::string> request_head(std::string_view method, const http_url& url,
                                 const header_fields& headers, std::size_t body_size) {
  std::string head =
      fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\n", method, url.target, url.host_header());
  for (const auto& [name, value] : headers) {
    const std::string key = ascii_lower(name);
    const bool owned = key == "host" || key == "content-length" || key == "transfer-encoding" ||
                       key == "connection";
    const auto control = [](char c) {
      return (static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f;
    };
    if (owned || name.empty() || !std::ranges::all_of(name, is_tchar) ||
        std::ranges::any_of(value, control)) {
      return fail(errc::invalid_request_header);
    }
    head += fmt::format("{}: {}\r\n", name, value);
  }
  head += fmt::format("Content-Length: {}\r\nConnection: close\r\n\r\n", body_size);
  return head;
}

enum class phase { connecting, sending, receiving };

// One request's connection and deadline. The deadline's handler holds it weakly and closes the
// socket, which completes whatever operation is pending on it with an error; `timed_out` then
// tells that error apart from the network's. Over https, `tls` runs on the socket (its
// next_layer), and reads and writes go through it.
struct exchange {
  exchange(const asio::any_io_executor& ex, asio::ssl::context* tls_context)
      : socket(ex), deadline(ex) {
    if (tls_context != nullptr) {
      tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket, *tls_context);
    }
  }

  // Through TLS or not; the error, if any (the buffers are views: copies are cheap).
  template <class Buffers>
  awaitable<std::error_code> write(Buffers buffers) {
    std::error_code ec;
    if (tls) {
      co_await asio::async_write(*tls, buffers, redirect_error(use_awaitable, ec));
    } else {
      co_await asio::async_write(socket, buffers, redirect_error(use_awaitable, ec));
    }
    co_return ec;
  }

  awaitable<std::pair<std::error_code, std::size_t>> read_some(asio::mutable_buffer into) {
    std::error_code ec;
    std::size_t n = 0;
    if (tls) {
      n = co_await tls->async_read_some(into, redirect_error(use_awaitable, ec));
    } else {
      n = co_await socket.async_read_some(into, redirect_error(use_awaitable, ec));
    }
    co_return std::pair{ec, n};
  }

  static void arm(const std::shared_ptr<exchange>& x, clock::time_point at) {
    x->deadline.expires_at(at);
    x->deadline.async_wait([weak = std::weak_ptr<exchange>(x)](std::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->timed_out = true;
      self->close();
    });
  }

  void close() {
    std::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  tcp::socket socket;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  asio::steady_timer deadline;
  bool timed_out = false;
};

// Over https: the handshake, the host as SNI, the certificate checked against the context's CAs
// and the host.
awaitable<result<void>> start_tls(std::shared_ptr<exchange> x, std::string host) {
  std::error_code not_literal;
  (void)asio::ip::make_address(host, not_literal);
  if (not_literal) SSL_set_tlsext_host_name(x->tls->native_handle(), host.c_str());
  x->tls->set_verify_mode(asio::ssl::verify_peer);
  x->tls->set_verify_callback(asio::ssl::host_name_verification(host));
  std::error_code ec;
  co_await x->tls->async_handshake(asio::ssl::stream_base::client,
                                   redirect_error(use_awaitable, ec));
  if (x->timed_out) co_return fail(errc::timeout_connecting);
  if (ec) co_return fail(ec);
  co_return result<void>{};
}

// A name lookup, shared between the request, which may stop waiting for it, and the coroutine
// that runs it, which cannot stop getaddrinfo and so finishes on its own.
struct lookup {
  explicit lookup(const asio::any_io_executor& ex) : resolver(ex) {}
  tcp::resolver resolver;
  oneshot<result<std::vector<tcp::endpoint>>> done;
};

awaitable<void> run_lookup(std::shared_ptr<lookup> l, std::string host, std::string port) {
  std::error_code ec;
  // No address_configured flag: on a host with only a loopback interface it would hide
  // "localhost" (getaddrinfo's AI_ADDRCONFIG does not count loopback addresses).
  auto found = co_await l->resolver.async_resolve(host, port, tcp::resolver::numeric_service,
                                                  redirect_error(use_awaitable, ec));
  if (ec) {
    l->done.set(fail(ec));
    co_return;
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : found) endpoints.push_back(entry.endpoint());
  l->done.set(std::move(endpoints));
}

awaitable<result<std::vector<tcp::endpoint>>> resolve(std::string host, std::uint16_t port,
                                                      clock::time_point deadline) {
  // An IP literal needs no resolver: Asio's runs getaddrinfo on a thread of its own, which would
  // make the whole process multi-threaded for good.
  std::error_code not_literal;
  const auto address = asio::ip::make_address(host, not_literal);
  if (!not_literal) co_return std::vector<tcp::endpoint>{tcp::endpoint(address, port)};
  auto ex = co_await asio::this_coro::executor;
  auto l = std::make_shared<lookup>(ex);
  asio::co_spawn(ex, run_lookup(l, std::move(host), std::to_string(port)), asio::detached);
  auto found = co_await l->done.wait_until(deadline);
  if (!found) {
    l->resolver.cancel();
    co_return fail(errc::timeout_connecting);
  }
  co_return std::move(*found);
}

awaitable<result<void>> connect(std::shared_ptr<exchange> x, std::string host, std::uint16_t port,
                                clock::time_point deadline) {
  auto endpoints = co_await resolve(std::move(host), port, deadline);
  if (!endpoints) co_return fail(endpoints.error());
  std::error_code ec = asio::error::host_not_found;
  for (const auto& endpoint : *endpoints) {
    if (x->timed_out) break;
    std::error_code ignored;
    x->socket.close(ignored);  // a failed attempt leaves it open, maybe for the other family
    co_await x->socket.async_connect(endpoint, redirect_error(use_awaitable, ec));
    if (!ec) break;
  }
  if (x->timed_out) co_return fail(errc::timeout_connecting);
  if (ec) co_return fail(ec);
  co_return result<void>{};
}

// Reads until the response is complete. `write_error` is the request's, if writing failed: a
// server may answer and close before reading everything, and its answer beats the write's error.
awaitable<result<http_reply>> receive(std::shared_ptr<exchange> x, http_client_limits limits,
                                      std::error_code write_error) {
  const response_limits parser_limits{.max_head = limits.max_head, .max_body = limits.max_body};
  response_parser parser(parser_limits);
  std::array<char, read_chunk> chunk{};
  while (true) {
    auto [ec, n] = co_await x->read_some(asio::buffer(chunk));
    // A server that closes without TLS's close_notify ends its body as a plain close does.
    if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
    if (n > 0) {
      auto complete = parser.feed(std::string_view(chunk.data(), n));
      if (!complete) co_return fail(complete.error());
      if (*complete) break;
    }
    if (ec == asio::error::eof) {
      auto finished = parser.finish();
      if (!finished) co_return fail(write_error ? write_error : finished.error());
      break;
    }
    if (ec) {
      if (x->timed_out) co_return fail(errc::timeout_receiving);
      co_return fail(write_error ? write_error : ec);
    }
  }
  co_return std::move(parser).reply();
}

}  // namespace

bool is_retryable(std::error_code ec) {
  if (!ec) return false;
  if (ec.category() == client_category()) {
    switch (static_cast<errc>(ec.value())) {
      case errc::invalid_url:
      case errc::invalid_request_header:
        return false;
      default:
        return true;
    }
  }
  if (ec.category() == asio::error::get_ssl_category()) return false;
  // The operating system's: refused, reset, unreachable, host not found (the name may resolve
  // once a pod is up), out of descriptors. All of the moment.
  return true;
}

std::string http_url::host_header() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (https ? 443 : 80)) out += ":" + std::to_string(port);
  return out;
}

std::string http_url::str() const {
  return (https ? "https://" : "http://") + host_header() + target;
}

tl::expected<std::shared_ptr<asio::ssl::context>, std::string> client_tls_context(
    std::string_view ca_pem) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  std::error_code ec;
  if (ca_pem.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return tl::unexpected("cannot load the system's CA certificates: " + ec.message());
  } else {
    context->add_certificate_authority(asio::buffer(ca_pem.data(), ca_pem.size()), ec);
    if (ec) return tl::unexpected("CACerts: not a PEM certificate: " + ec.message());
  }
  return context;
}

result<http_url> parse_http_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return fail(errc::invalid_url);
  const std::string scheme = ascii_lower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return fail(errc::invalid_url);
  std::string_view rest = url.substr(scheme_end + 3);
  const auto authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = rest.substr(authority_end);

  http_url out{.https = scheme == "https"};
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(errc::invalid_url);
    out.host = authority.substr(1, close - 1);
    std::error_code ec;
    asio::ip::make_address_v6(out.host, ec);
    if (ec) return fail(errc::invalid_url);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return fail(errc::invalid_url);
    port = after.empty() ? after : after.substr(1);
  } else {
    const auto colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (out.host.empty() || !std::ranges::all_of(out.host, is_host_char)) {
      return fail(errc::invalid_url);
    }
  }
  auto number = parse_port(port, out.https ? 443 : 80);
  if (!number) return fail(errc::invalid_url);
  out.port = *number;

  if (const auto hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  const auto visible = [](char c) { return c > ' ' && c < 0x7f; };
  if (!std::ranges::all_of(target, visible)) return fail(errc::invalid_url);
  out.target = target.starts_with('/') ? std::string(target) : "/" + std::string(target);
  return out;
}

awaitable<result<http_reply>> post(http_url url, header_fields headers, std::string body,
                                   http_client_limits limits) {
  co_return co_await request("POST", std::move(url), std::move(headers), std::move(body), limits);
}

awaitable<result<http_reply>> request(std::string method, http_url url, header_fields headers,
                                      std::string body, http_client_limits limits) {
  if (method.empty() || !std::ranges::all_of(method, is_tchar)) {
    co_return fail(errc::invalid_request_header);
  }
  auto head = request_head(method, url, headers, body.size());
  if (!head) co_return fail(head.error());
  std::shared_ptr<asio::ssl::context> tls = limits.tls;
  if (url.https && !tls) {
    auto made = client_tls_context();
    if (!made) co_return fail(asio::error::make_error_code(asio::error::no_recovery));
    tls = std::move(*made);
  }
  const clock::time_point deadline = clock::now() + limits.timeout;
  auto x = std::make_shared<exchange>(co_await asio::this_coro::executor,
                                      url.https ? tls.get() : nullptr);
  exchange::arm(x, deadline);

  auto connected = co_await connect(x, url.host, url.port, deadline);
  if (!connected) co_return fail(connected.error());
  if (x->tls) {
    auto secured = co_await start_tls(x, url.host);
    if (!secured) co_return fail(secured.error());
  }

  const std::array<asio::const_buffer, 2> request{asio::buffer(*head), asio::buffer(body)};
  const std::error_code write_error = co_await x->write(request);
  if (x->timed_out) co_return fail(errc::timeout_sending);

  auto reply = co_await receive(x, limits, write_error);
  x->deadline.cancel();
  x->close();
  co_return reply;
}

}  // namespace shfn::http
