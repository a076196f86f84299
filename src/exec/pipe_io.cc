#include "exec/pipe_io.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace shfn::exec {
namespace {

// Blocks SIGPIPE in this thread while alive; on destruction consumes a SIGPIPE that the guarded
// write raised (unless one was already pending before, which belongs to someone else).
class sigpipe_guard {
 public:
  sigpipe_guard() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &previous_);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;
  ~sigpipe_guard() {
    if (raised_ && !was_pending_) {
      const timespec no_wait{};
      while (sigtimedwait(&pipe_set_, nullptr, &no_wait) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  void raised() { raised_ = true; }

 private:
  sigset_t pipe_set_;
  sigset_t previous_;
  bool was_pending_ = false;
  bool raised_ = false;
};

}  // namespace

io_result read_some(int fd, std::span<std::uint8_t> buffer) {
  if (buffer.empty()) return {io_status::would_block};
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) return {io_status::transferred, static_cast<std::size_t>(n)};
    if (n == 0) return {io_status::eof};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {io_status::would_block};
    return {io_status::failed, 0, errno};
  }
}

io_result write_some(int fd, byte_view data) {
  if (data.empty()) return {io_status::transferred};
  sigpipe_guard guard;
  while (true) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n >= 0) return {io_status::transferred, static_cast<std::size_t>(n)};
    const int error = errno;
    if (error == EINTR) continue;
    if (error == EAGAIN || error == EWOULDBLOCK) return {io_status::would_block};
    if (error == EPIPE) guard.raised();
    return {io_status::failed, 0, error};
  }
}

}  // namespace shfn::exec
