#pragma once
// Errors of the HTTP client side of this module (http_client.h, response_parser.h). The server
// side's refusals are http_errc (http.h), each value the status it answers with; these are what a
// caller of post() sees, besides the operating system's own errors (connection refused, reset,
// host not found: std::system_category() / Asio's netdb and misc categories, left as they are).
//
// What to retry: is_retryable() (http_client.h) says. A timeout, a network error, a server that
// closed early or sent something that is not an HTTP response are the server's trouble of the
// moment, so they are retried like a 5xx; a URL or a request header the caller got wrong never gets
// better.

#include <system_error>

namespace shfn::http {

enum class errc {
  invalid_url = 1,          // not http[s]://host[:port][/path][?query]
  invalid_request_header,   // a header name or value that cannot be sent, or one the client owns
  timeout_connecting,       // the deadline passed while resolving the host or connecting
  timeout_sending,          // ... while writing the request
  timeout_receiving,        // ... while waiting for or reading the response
  connection_closed,        // the server closed before the response was complete
  malformed_response,       // not an HTTP/1.x response, or a broken one
  response_head_too_large,  // status line and header fields over the limit
  response_body_too_large,  // body over the limit (http_client_limits::max_body)
  unsupported_transfer_coding,  // a Transfer-Encoding other than chunked
};

const std::error_category& client_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), client_category()};
}

// What a response status means for delivery, as Knative's dispatcher reads it (see README).
enum class status_class {
  success,    // 2xx: delivered; a body is the reply
  retryable,  // 408, 429, 5xx: try again per the delivery policy
  permanent,  // every other status (1xx, 3xx, other 4xx): retrying would not help
};
status_class classify(int status);

}  // namespace shfn::http

template <>
struct std::is_error_code_enum<shfn::http::errc> : std::true_type {};
