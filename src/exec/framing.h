#pragma once
// Request/response framing for stream-mode workers, sans-I/O: the worker pool feeds the decoder
// whatever a read returned and takes complete frames out, so it can be tested (and fuzzed) one
// byte at a time without a process.
//
//   lines            payload '\n'        (a payload holding '\n' cannot be framed)
//   nul              payload '\0'        (a payload holding NUL cannot be framed)
//   length_prefixed  u32 big-endian length, then the payload bytes
//
// Requests (to the worker's stdin) and responses (from its stdout) use the same framing.

#include <cstddef>
#include <optional>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace shfn::exec {

enum class framing { lines, nul, length_prefixed };
std::string_view to_string(framing f);

// Appends the frame of `payload` to `out`. Fails, leaving `out` as it was, when the payload
// holds the delimiter (errc::payload_contains_delimiter) or does not fit a u32 length
// (errc::payload_too_large).
result<void> encode_frame(framing f, byte_view payload, bytes& out);

class frame_decoder {
 public:
  // Frames whose payload is larger than max_payload are an error.
  frame_decoder(framing f, std::size_t max_payload);

  void feed(byte_view data);

  // The next complete frame's payload, or nullopt when more bytes are needed. Fails with
  // errc::frame_too_large as soon as the frame under way is known to exceed max_payload
  // (a length prefix is checked before its body arrives); the stream has then lost its frame
  // boundaries and the decoder keeps failing.
  result<std::optional<bytes>> next();

  // Bytes fed but not yet returned as frames.
  std::size_t buffered() const { return buffer_.size() - start_; }

 private:
  result<std::optional<bytes>> next_delimited(std::uint8_t delimiter);
  result<std::optional<bytes>> next_length_prefixed();
  bytes take(std::size_t payload_offset, std::size_t payload_size, std::size_t frame_size);

  framing framing_;
  std::size_t max_payload_;
  bytes buffer_;
  std::size_t start_ = 0;    // first byte not yet returned
  std::size_t scanned_ = 0;  // bytes after start_ known to hold no delimiter
  bool broken_ = false;
};

}  // namespace shfn::exec
