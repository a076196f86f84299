#pragma once
// HTTP/1.x requests and responses, sans-I/O: finding and parsing a request head, writing a
// response. No sockets here (that is http/server.h), so every rule can be tested byte by byte.
//
// What is understood: HTTP/1.0 and 1.1, Content-Length bodies (Transfer-Encoding is refused
// with 501), Connection: close / keep-alive, Expect: 100-continue, percent-decoded path
// segments and query parameters. Folded header lines are refused (RFC 9112 allows it).
//
// Plain values and free functions: no state, any thread.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "base/result.h"

namespace shfn::http {

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
  // How long a server waits for a request to arrive, after connecting or after its previous
  // answer, before it closes the connection. (Only the server reads this one.)
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
  // How long a request's head may take once its first byte is in: a client that trickles its
  // header fields (slowloris) would otherwise hold a connection for the whole idle timeout.
  std::chrono::steady_clock::duration head_timeout = std::chrono::seconds(10);
  // Connections one client address may hold open at once; more are closed on accept, so one
  // client cannot take every descriptor of the process.
  std::size_t max_connections_per_address = 64;
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
  std::string content_type = "application/json";  // empty: no Content-Type field
  std::string body;
  std::vector<std::pair<std::string, std::string>> fields;  // beyond the ones serialize() adds
};

// Where a request head ends (just past its blank line) in `data`; npos while it is incomplete.
std::size_t find_head_end(std::string_view data);
// Parses a complete request head, as delimited by find_head_end(). Errors are http_errc.
result<http_request> parse_request_head(std::string_view head, const http_limits& limits = {});
// "a=1&b=x+y" (a query, or a form's application/x-www-form-urlencoded body): the parameters,
// percent-decoded, '+' as a space; nullopt for a bad %-escape.
std::optional<std::map<std::string, std::string>> parse_urlencoded(std::string_view text);
std::string serialize(const http_response& response, bool keep_alive);

// An error answer with a JSON body {"reason": "..."}: what http_server sends for requests it
// refuses itself, and what its users send for theirs, so that clients see one shape. Bytes of
// `reason` that are not UTF-8 are replaced, never an exception.
http_response error_response(int status, std::string_view reason);

// The token of an "Authorization: Bearer <token>" field (the scheme matched as written);
// nullopt when there is no such field or it names another scheme.
std::optional<std::string_view> bearer_token(const http_request& request);

}  // namespace shfn::http

template <>
struct std::is_error_code_enum<shfn::http::http_errc> : std::true_type {};
