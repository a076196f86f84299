#pragma once
// An HTTP/1.1 client on Asio for `uri` subscribers (and the CLI's admin calls): one request per
// call (CloudEvents binary mode is the caller's business: it passes the ce-* headers and the data),
// one connection per request
// ("Connection: close"; no reuse, no pipelining), http:// and https://.
//
// https: the server's certificate must chain to a CA of the request's TLS context (the system's
// CAs, or those a `uri`'s CACerts names: client_tls_context) and name the URL's host (or IP
// literal); the host goes out as SNI. A refused handshake fails with OpenSSL's reason
// ("certificate verify failed"), which is_retryable() calls permanent.
//
// Behaviour: the host is resolved with asio::ip::tcp::resolver unless it is an IP literal (then
// no resolver thread is started), and each address it yields is tried in turn. One deadline,
// limits.timeout, covers the whole exchange: resolving and connecting, writing the request,
// reading the response. When it passes, the socket is closed and the error names the phase:
// errc::timeout_connecting, timeout_sending or timeout_receiving. A name lookup cannot be
// interrupted (getaddrinfo runs on Asio's resolver thread), so it runs on its own and is
// abandoned, not waited for, at the deadline. The response is read by response_parser (so
// limits.max_head and limits.max_body apply; chunked and close-delimited bodies are fine). When
// writing fails, what the server already sent is still read: a server that answers early and
// closes (a 413 before the whole body, say) is heard, unless its reset discarded the answer,
// in which case the write's error is returned.
//
// Errors: errc values (errc.h) and the operating system's (connection refused, reset, host not
// found, ...). A response with any status is a success at this level: the caller decides with
// classify(status) and, for errors, is_retryable(ec).
//
// Threads: post() runs on the executor of the coroutine that awaits it; nothing is shared.
// Stopping: destroying the awaiting coroutine (or its io_context) abandons the request; the
// socket is closed with it.

#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "base/result.h"
#include "http/errc.h"
#include "http/response_parser.h"

namespace shfn::http {

// http[s]://host[:port][/path][?query]. The scheme is matched case-insensitively; a fragment is
// dropped; user information ("user@host") is refused rather than sent nowhere.
struct http_url {
  bool https = false;
  std::string host;          // a name or an IP literal; an IPv6 literal without its brackets
  std::uint16_t port = 80;   // 443 by default for https
  std::string target = "/";  // path and query, as written (already percent-encoded)

  // "host[:port]", the port only when not the scheme's default, [] for IPv6.
  std::string host_header() const;
  std::string str() const;  // scheme + "://" + host_header() + target
};

// Errors: errc::invalid_url for what is not an http or https URL (another scheme, no host, a bad
// port, spaces or control characters...).
result<http_url> parse_http_url(std::string_view url);

// How https requests trust servers: the CAs of `ca_pem` (PEM, one certificate or more), or the
// system's (OpenSSL's default paths) when it is empty. An error says what is wrong with the PEM.
tl::expected<std::shared_ptr<asio::ssl::context>, std::string> client_tls_context(
    std::string_view ca_pem = {});

// True for the errors a later attempt may not see (timeouts, the network, the server's
// answer); false for the caller's own mistakes (errc::invalid_url, invalid_request_header) and
// for a TLS handshake that OpenSSL refused (an untrusted certificate, a name that does not match,
// no common protocol): what the server presents does not change from one attempt to the next.
bool is_retryable(std::error_code ec);

struct http_client_limits {
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(30);  // whole exchange
  std::size_t max_head = 64 << 10;                                         // response head
  std::size_t max_body = 5 << 20;  // response body, as functions' maxOutputBytes
  // For https: whom to trust (client_tls_context). Null: the system's CAs, loaded per request.
  std::shared_ptr<asio::ssl::context> tls;
};

using header_fields = std::vector<std::pair<std::string, std::string>>;

// POSTs `body` to `url` with `headers` (sent in order, after Host, and before Content-Length
// and Connection, which the client writes itself). A header named Host, Content-Length,
// Transfer-Encoding or Connection, a name that is not an HTTP token, or a value with CR, LF,
// NUL or another control character fails with errc::invalid_request_header before anything is
// sent. Arguments are taken by value: they must outlive the suspended coroutine.
asio::awaitable<result<http_reply>> post(http_url url, header_fields headers, std::string body,
                                         http_client_limits limits = {});
// The same with another method (GET, PUT, DELETE...: a token; else invalid_request_header), for
// the CLI's calls to admin APIs. A body is sent with its Content-Length whatever the method.
asio::awaitable<result<http_reply>> request(std::string method, http_url url, header_fields headers,
                                            std::string body = {}, http_client_limits limits = {});

}  // namespace shfn::http
