#pragma once
// Non-blocking reads and writes on our ends of a child's pipes, done by hand rather than with
// Asio's async_read/async_write, for two reasons:
//  - a write to a pipe whose reader is gone raises SIGPIPE, which would kill shfn; write_some
//    blocks SIGPIPE in the calling thread for the duration of the write and swallows the one it
//    caused, so shfn needs no process-wide SIG_IGN (the equivalent of send()'s MSG_NOSIGNAL);
//  - once a child has exited we drain what is readable and stop at EAGAIN, instead of waiting
//    for an EOF that a stray process holding the pipe may never give.
// Readiness comes from stream_descriptor::async_wait; these calls never block.

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/bytes.h"

namespace shfn::exec {

enum class io_status { transferred, eof, would_block, failed };

struct io_result {
  io_status status;
  std::size_t count = 0;  // bytes transferred
  int error = 0;          // errno when failed
};

// read(2) retrying EINTR; an empty buffer reads nothing and reports would_block.
io_result read_some(int fd, std::span<std::uint8_t> buffer);

// write(2) retrying EINTR, never raising SIGPIPE: a reader that is gone is failed with EPIPE.
io_result write_some(int fd, byte_view data);

}  // namespace shfn::exec
