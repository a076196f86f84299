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

// The buffer starts small, so that an idle connection costs little (a broker may hold thousands),
// and grows with the stream: to hold a large frame, and, while reads keep filling it, up to
// read_ahead bytes, so that a busy stream is read in few system calls.
class frame_buffer {
 public:
  static constexpr std::size_t read_ahead = 64 * 1024;

  explicit frame_buffer(std::size_t max_frame_size, std::size_t initial_capacity = 4 * 1024);

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
  bool filled_ = false;    // the last commit filled the buffer: the stream has more
  std::size_t max_frame_size_;
};

}  // namespace shfn::wire
