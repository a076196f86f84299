#pragma once
// A spawned child on the event loop: its pipes and its pidfd as Asio descriptors, its process
// group, and the guarantee that it is reaped.
//
// Ownership: one owner (the shared state of a run_once call or of one worker). Everything runs
// on the owner's executor. If the owner drops a child that was not reaped, the destructor
// SIGKILLs its group and reaps it synchronously; SIGKILL cannot be caught, so that is brief.
//
// No zombies: exit is learnt from the pidfd becoming readable, and the child is then reaped by
// pid (waitid). Its process group is SIGKILLed *before* the reap, while the zombie still pins
// the pid, so the group id cannot have been reused by an unrelated process.

#include <sys/types.h>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <optional>
#include <string>

#include "exec/spawn.h"

namespace shfn::exec {

struct exit_status {
  bool known = false;  // false when the status was lost (the child was reaped by someone else)
  int code = 0;        // exit code, when not signalled
  int signal = 0;      // the signal that killed it, or 0
};

// "exited with code 3", "killed by signal 9 (SIGKILL)".
std::string describe(const exit_status& s);
// "SIGKILL", or "signal 77" for a number without a name.
std::string signal_name(int sig);

class child {
 public:
  using descriptor = asio::posix::stream_descriptor;

  child(const asio::any_io_executor& ex, spawned s);
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  ~child();

  pid_t pid() const { return pid_; }
  // stdin is registered with the event loop only when asked for: an input that fits in the
  // pipe is written and closed at once (stdin_fd, close_stdin) without epoll ever seeing it.
  descriptor& stdin_pipe();
  int stdin_fd();  // -1 once closed
  void close_stdin();
  descriptor& stdout_pipe() { return stdout_; }
  descriptor& stderr_pipe() { return stderr_; }
  // Readable once the child has exited (or, rarely, spuriously: see try_reap).
  descriptor& exit_descriptor() { return pidfd_; }

  // Sends `sig` to the child and to its process group (the child first, by pid, in case it left
  // its group). Does nothing once the child is reaped: its pid may then be someone else's.
  void signal_group(int sig);
  // Whether signal_group was ever called: an exit status is then partly our doing.
  bool signalled() const { return signalled_; }

  // Waits until the child exits, SIGKILLs what is left of its process group (so a background
  // process can neither outlive it nor keep its pipes open), reaps it and returns its status.
  // Returns an unknown status if the wait is cancelled before the child exits.
  asio::awaitable<exit_status> wait_exit();
  // The same for a caller waiting on exit_descriptor() itself: once it is readable, true if the
  // child has exited, and then its group is SIGKILLed and it is reaped (status()). False when
  // the readiness was stale (Asio recycles descriptor state): wait again.
  bool try_reap();

  // SIGKILLs the group and reaps the child now, blocking until it is gone.
  void kill_and_reap();

  bool reaped() const { return reaped_; }
  const exit_status& status() const { return status_; }

  // Wakes the coroutines waiting on a pipe (they see why and act; the descriptors stay open).
  void cancel_waits(bool in, bool out, bool err);
  void close_pipes();

 private:
  // waitid on our pid; false when `block` is false and the child has not exited yet.
  // Whether the child has exited (it may not be reaped yet).
  bool has_exited() const;
  bool reap(bool block);

  pid_t pid_;
  descriptor pidfd_;
  unique_fd stdin_fd_;               // until stdin_pipe() is called
  std::optional<descriptor> stdin_;  // after
  descriptor stdout_;
  descriptor stderr_;
  bool reaped_ = false;
  bool signalled_ = false;
  exit_status status_;
};

// Waits until `d` is ready for `w` (or the wait is cancelled); false on an error that makes
// waiting again pointless, such as a closed descriptor. The caller keeps `d` alive until then.
asio::awaitable<bool> wait_ready(child::descriptor* d, child::descriptor::wait_type w);

}  // namespace shfn::exec
