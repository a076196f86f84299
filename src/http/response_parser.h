#pragma once
// HTTP/1.x responses, sans-I/O: bytes from a connection in, an http_reply out. No sockets here
// (that is http/http_client.h), so every rule can be tested byte by byte.
//
// What is understood (RFC 9112): a status line "HTTP/1.x NNN reason"; header fields (names
// lower-cased, kept in order, repeated ones kept apart); interim 1xx responses, skipped (a 101
// is refused: the client never asks to switch protocols); a body delimited by Content-Length,
// by chunked Transfer-Encoding (extensions ignored, trailer fields read and dropped), or by the
// server closing the connection; no body for 204 and 304. Folded header lines, a Content-Length
// given twice with different values, and Transfer-Encodings other than chunked are refused.
//
// Limits: limits.max_head for a head (and for a chunked body's trailer section), limits.max_body
// for the body, checked before anything is buffered past them (a Content-Length over the limit
// fails at once). Bytes that cannot begin "HTTP/1." fail at once too, so a server that speaks
// another protocol is told apart from one that is slow.
//
// A plain value: no shared state, one parser per response, any thread. No exceptions.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "http/errc.h"

namespace shfn::http {

struct http_reply {
  int status = 0;
  std::string reason;
  int minor_version = 1;                                    // HTTP/1.x
  std::vector<std::pair<std::string, std::string>> fields;  // names lower-cased, in order
  std::string body;

  // The first field named `name` (give it lower-cased); nullopt when there is none.
  std::optional<std::string_view> field(std::string_view name) const;
};

struct response_limits {
  std::size_t max_head = 64 << 10;  // status line and header fields, blank line included
  std::size_t max_body = 5 << 20;   // as functions' maxOutputBytes
};

class response_parser {
 public:
  explicit response_parser(response_limits limits = {}) : limits_(limits) {}

  // Takes the next bytes of the connection. True once the response is complete (whatever
  // follows it is ignored: the client sends "Connection: close"); false while more is needed.
  // Errors are errc values and final: every later call returns the same one.
  result<bool> feed(std::string_view data);

  // The server closed the connection: completes a body delimited by closing. Fails with
  // errc::connection_closed when the response is incomplete (or was never begun).
  result<void> finish();

  bool done() const { return state_ == state::done; }
  // The response: complete once feed() returned true or finish() succeeded.
  const http_reply& reply() const& { return reply_; }
  http_reply reply() && { return std::move(reply_); }

 private:
  enum class state {
    head,
    body_length,
    chunk_size,
    chunk_data,
    chunk_data_end,
    trailers,
    body_until_close,
    done,
    failed
  };

  result<void> step();  // parses as far as the buffered bytes go
  result<void> parse_head(std::string_view head);
  result<void> start_body();
  result<void> parse_chunk_size(std::string_view line);
  result<void> append_body(std::size_t n);
  result<void> fail_with(errc e);

  response_limits limits_;
  state state_ = state::head;
  std::string buffer_;         // received, not yet consumed (from pos_)
  std::size_t pos_ = 0;        // first unconsumed byte of buffer_
  std::size_t scanned_ = 0;    // how far past pos_ a head or line end was already looked for
  std::size_t remaining_ = 0;  // bytes left of the Content-Length body or the current chunk
  std::size_t trailer_bytes_ = 0;
  int interim_responses_ = 0;
  std::error_code error_;
  http_reply reply_;
};

}  // namespace shfn::http
