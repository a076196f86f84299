#include "exec/child.h"

#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>

#include "exec/orphans.h"

namespace shfn::exec {

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  if (abbrev == nullptr) return "signal " + std::to_string(sig);
  return std::string("SIG") + abbrev;
}

std::string describe(const exit_status& s) {
  if (!s.known) return "exit status unknown (the process was reaped elsewhere)";
  if (s.signal != 0) {
    return "killed by signal " + std::to_string(s.signal) + " (" + signal_name(s.signal) + ")";
  }
  std::string text = "exited with code " + std::to_string(s.code);
  // Shells report a command killed by signal N as 128+N; say so, since scripts often exit
  // with the status of the last command they ran.
  if (s.code > 128 && s.code < 128 + NSIG && ::sigabbrev_np(s.code - 128) != nullptr) {
    text += " (as a shell reports a command killed by " + signal_name(s.code - 128) + ")";
  }
  return text;
}

child::child(const asio::any_io_executor& ex, spawned s)
    : pid_(s.pid),
      pidfd_(ex, s.pidfd.release()),
      stdin_fd_(std::move(s.stdin_pipe)),
      stdout_(ex, s.stdout_pipe.release()),
      stderr_(ex, s.stderr_pipe.release()) {
  // Through Asio, so that it knows and does not set them non-blocking again before each first
  // wait (one ioctl each, instead of fcntl's get and set plus Asio's own ioctl).
  std::error_code ignored;
  pidfd_.non_blocking(true, ignored);
  stdout_.non_blocking(true, ignored);
  stderr_.non_blocking(true, ignored);
  int on = 1;
  ::ioctl(stdin_fd_.get(), FIONBIO, &on);  // spawn_child() has tracked it (orphans.h)
}

child::descriptor& child::stdin_pipe() {
  if (!stdin_) {
    stdin_.emplace(pidfd_.get_executor(), stdin_fd_.release());
    std::error_code ignored;
    stdin_->non_blocking(true, ignored);  // already is; this tells Asio
  }
  return *stdin_;
}

int child::stdin_fd() {
  if (stdin_) return stdin_->is_open() ? stdin_->native_handle() : -1;
  return stdin_fd_.get();
}

void child::close_stdin() {
  std::error_code ignored;
  if (stdin_) stdin_->close(ignored);
  stdin_fd_.reset();
}

child::~child() {
  kill_and_reap();
}

void child::signal_group(int sig) {
  if (reaped_) return;
  signalled_ = true;
  ::kill(pid_, sig);
  ::kill(-pid_, sig);
}

asio::awaitable<exit_status> child::wait_exit() {
  while (!reaped_) {
    std::error_code ec;
    co_await pidfd_.async_wait(descriptor::wait_read,
                               asio::redirect_error(asio::use_awaitable, ec));
    if (reaped_ || ec) break;
    try_reap();
  }
  co_return status_;
}

bool child::try_reap() {
  if (reaped_) return true;
  // Asio recycles descriptor state: a readiness event queued for an earlier child's pidfd,
  // closed in the same event-loop turn, can complete a wait on ours. Believe only waitid.
  if (!has_exited()) return false;
  // The child has exited but is not reaped: its pid, and so its group id, is still ours.
  ::kill(-pid_, SIGKILL);
  return reap(false);
}

void child::kill_and_reap() {
  if (reaped_) return;
  signal_group(SIGKILL);
  reap(true);
}

void child::cancel_waits(bool in, bool out, bool err) {
  std::error_code ignored;
  if (in && stdin_) stdin_->cancel(ignored);
  if (out) stdout_.cancel(ignored);
  if (err) stderr_.cancel(ignored);
}

void child::close_pipes() {
  std::error_code ignored;
  close_stdin();
  stdout_.close(ignored);
  stderr_.close(ignored);
}

bool child::has_exited() const {
  siginfo_t info{};
  // WNOWAIT: look without reaping, so the pid stays ours until the group is killed.
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno != EINTR) return true;  // ECHILD: gone already
  }
  return info.si_pid != 0;
}

bool child::reap(bool block) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | (block ? 0 : WNOHANG)) != 0) {
    if (errno == EINTR) continue;
    // ECHILD: reaped by someone else (SIGCHLD set to SIG_IGN, or a waitpid(-1) elsewhere).
    reaped_ = true;
    untrack_child(pid_);
    status_ = {};
    return true;
  }
  if (info.si_pid == 0) return false;
  reaped_ = true;
  untrack_child(pid_);
  kill_orphans();  // what it started and left behind outside its group
  status_.known = true;
  if (info.si_code == CLD_EXITED) {
    status_.code = info.si_status;
  } else {
    status_.signal = info.si_status;
  }
  return true;
}

asio::awaitable<bool> wait_ready(child::descriptor* d, child::descriptor::wait_type w) {
  std::error_code ec;
  co_await d->async_wait(w, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec || ec == asio::error::operation_aborted;
}

}  // namespace shfn::exec
