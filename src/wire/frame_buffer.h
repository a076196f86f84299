#pragma once
// Input buffering for a frame stream, sans-I/O: the caller reads socket bytes into writable(),
// commit()s them, then takes frames with next() until it says it needs more. Shared by the
// client's and the broker's connections.

#include <cstddef>
#include <optional>
#include <span>

#include "base/bytes.h"
#include "base/result.h"
#include "wire/frame.h"

namespace shfn::wire {

class frame_buffer {
 public:
  explicit frame_buffer(std::size_t max_frame_size, std::size_t initial_capacity = 64 * 1024);

  // Free space to read into; never empty. Invalidates frames returned by next().
  std::span<std::uint8_t> writable();
  void commit(std::size_t n);
  void set_max_frame_size(std::size_t n) { max_frame_size_ = n; }

  // The next complete frame (its views point into this buffer until writable() is called), nullopt
  // when more bytes are needed, or an error when the stream is corrupt.
  result<std::optional<frame>> next();

 private:
  bytes data_;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last received byte
  std::size_t max_frame_size_;
};

}  // namespace shfn::wire
