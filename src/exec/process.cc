#include "exec/process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <cerrno>
#include <memory>
#include <optional>

#include "base/notifier.h"
#include "exec/child.h"
#include "exec/pipe_io.h"
#include "exec/stderr_lines.h"

namespace shfn::exec {
namespace {

using asio::awaitable;
using descriptor = child::descriptor;

constexpr std::size_t first_read = 4096;
constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t max_metadata_bytes = 1 << 20;

std::string errno_text(int e) {
  return std::error_code(e, std::system_category()).message();
}

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

// Shared by run_once and the completion handlers that feed stdin, read stdout and stderr and
// watch for the exit. Plain handlers, not one coroutine each: a coroutine per pipe cost a frame,
// a spawn and a wake-up of run_once per pipe and message. Each pending handler holds a
// shared_ptr, so none outlives the state; run_once waits until none is pending.
struct run_state {
  run_state(std::unique_ptr<child> c, bytes in, const limits& l, line_sink sink)
      : proc(std::move(c)),
        input(std::move(in)),
        lim(l),
        on_stderr(std::move(sink)),
        err(l.max_stderr_line, l.stderr_tail) {}

  // Records the first failure; later ones are consequences (a killed process, a closed pipe).
  void fail(failure f, std::string why) {
    if (what != failure::none) return;
    what = f;
    message = std::move(why);
  }

  // After a handler ran: wakes run_once once the child is reaped and nothing is pending.
  void settle() {
    if (exited && pending == 0) done.notify_all();
  }

  std::unique_ptr<child> proc;
  bytes input;
  std::size_t written = 0;
  limits lim;
  line_sink on_stderr;
  bytes output;
  stderr_lines err;
  std::array<std::uint8_t, 4096> err_buffer;  // stderr reads land here (one at a time)
  bool exited = false;
  exit_status status;
  failure what = failure::none;
  std::string message;
  bool killed_after_grace = false;
  bool stop_requested = false;  // invocation::stop
  int pending = 0;              // handlers started and not yet run
  notifier done;
};

using state_ptr = std::shared_ptr<run_state>;

// ---------------------------------------------------------------------------- stdin

void close_stdin(run_state& st) {
  st.proc->close_stdin();
  st.input = bytes();
}

// Writes what the pipe takes now; waits for room (only an input larger than the pipe's buffer,
// or a script slow to read, ever does) or closes stdin once all is written.
void feed_stdin(const state_ptr& st) {
  while (st->written < st->input.size() && !st->exited) {
    const auto r = write_some(st->proc->stdin_fd(), byte_view(st->input).subspan(st->written));
    if (r.status == io_status::transferred) {
      st->written += r.count;
      continue;
    }
    // EPIPE: the script does not read (all of) its stdin, which is its right.
    if (r.status != io_status::would_block) break;
    ++st->pending;
    st->proc->stdin_pipe().async_wait(descriptor::wait_write, [st](std::error_code ec) {
      --st->pending;
      if (ec) {
        close_stdin(*st);  // cancelled at the exit, or closed
      } else {
        feed_stdin(st);
      }
      st->settle();
    });
    return;
  }
  close_stdin(*st);
}

// ---------------------------------------------------------------------------- stdout

void output_too_large(run_state& st) {
  st.fail(failure::output_too_large, "stdout exceeded the limit of " +
                                         std::to_string(st.lim.max_output) +
                                         " bytes; the process group was killed");
  st.proc->signal_group(SIGKILL);
  st.output = bytes();
  std::error_code ignored;
  st.proc->stdout_pipe().close(ignored);
}

// Room for the next read at the end of the output: small first (most outputs are), then as
// large as what came so far, never more than one byte past the limit (enough to know it was
// exceeded). Returns where it starts.
std::size_t grow_output(run_state& st, std::size_t& chunk) {
  const std::size_t room = st.lim.max_output - st.output.size();
  chunk = std::min({std::max(first_read, st.output.size()), read_chunk, room + 1});
  const std::size_t at = st.output.size();
  st.output.resize(at + chunk);
  return at;
}

// After the exit: what is readable now, and nothing that may come later (it belongs to a
// process that outlived the child).
void drain_stdout(run_state& st) {
  auto& pipe = st.proc->stdout_pipe();
  while (pipe.is_open()) {
    std::size_t chunk = 0;
    const std::size_t at = grow_output(st, chunk);
    const auto r = read_some(pipe.native_handle(), std::span(st.output.data() + at, chunk));
    st.output.resize(at + (r.status == io_status::transferred ? r.count : 0));
    if (r.status == io_status::failed) {
      st.fail(failure::io_error, "reading stdout: " + errno_text(r.error));
    }
    if (r.status != io_status::transferred) break;
    if (st.output.size() > st.lim.max_output) output_too_large(st);
  }
}

void read_stdout(const state_ptr& st) {
  std::size_t chunk = 0;
  const std::size_t at = grow_output(*st, chunk);
  ++st->pending;
  st->proc->stdout_pipe().async_read_some(
      asio::buffer(st->output.data() + at, chunk), [st, at](std::error_code ec, std::size_t n) {
        --st->pending;
        st->output.resize(at + n);
        if (!ec) {
          if (st->output.size() > st->lim.max_output) {
            output_too_large(*st);
          } else if (st->exited) {
            drain_stdout(*st);
          } else {
            read_stdout(st);
          }
        } else if (ec == asio::error::operation_aborted) {
          drain_stdout(*st);                  // cancelled at the exit
        } else if (ec != asio::error::eof) {  // eof: exited, or closed stdout early (exec 1>&-)
          st->fail(failure::io_error, "reading stdout: " + ec.message());
          st->proc->signal_group(SIGKILL);
        }
        st->settle();
      });
}

// ---------------------------------------------------------------------------- stderr

void feed_stderr(run_state& st, std::size_t n) {
  st.err.feed({reinterpret_cast<const char*>(st.err_buffer.data()), n}, st.on_stderr);
}

void drain_stderr(run_state& st) {
  auto& pipe = st.proc->stderr_pipe();
  for (;;) {
    const auto r = read_some(pipe.native_handle(), st.err_buffer);
    if (r.status != io_status::transferred) break;
    feed_stderr(st, r.count);
  }
  st.err.finish(st.on_stderr);
}

void read_stderr(const state_ptr& st) {
  ++st->pending;
  st->proc->stderr_pipe().async_read_some(
      asio::buffer(st->err_buffer), [st](std::error_code ec, std::size_t n) {
        --st->pending;
        if (!ec) {
          feed_stderr(*st, n);
          if (st->exited) {
            drain_stderr(*st);
          } else {
            read_stderr(st);
          }
        } else if (ec == asio::error::operation_aborted) {
          drain_stderr(*st);  // cancelled at the exit
        } else {
          st->err.finish(st->on_stderr);  // eof, or an error: nothing more to read
        }
        st->settle();
      });
}

// ---------------------------------------------------------------------------- exit

void exited(run_state& st, exit_status status) {
  st.exited = true;
  st.status = status;
  st.proc->cancel_waits(true, true, true);  // their handlers drain the pipes and finish
}

void watch_exit(const state_ptr& st) {
  ++st->pending;
  st->proc->exit_descriptor().async_wait(descriptor::wait_read, [st](std::error_code ec) {
    --st->pending;
    if (st->proc->try_reap()) {
      exited(*st, st->proc->status());
    } else if (ec) {
      exited(*st, {});  // cannot watch it: unknown status; ~child kills and reaps it
    } else {
      watch_exit(st);  // a stale readiness event (see child::try_reap)
    }
    st->settle();
  });
}

// Waits until the child is reaped and every handler has run. At the deadline, or as soon as a
// stop is requested, SIGTERM goes to the group, and SIGKILL kill_grace later.
awaitable<void> wait_for_exit(state_ptr st) {
  const bool has_timeout = st->lim.timeout.count() > 0;
  auto deadline = has_timeout ? clock::now() + st->lim.timeout : clock::time_point::max();
  bool terminated = false;
  while (!st->exited || st->pending > 0) {
    const bool stop_now = !terminated && st->stop_requested;
    if (st->exited || (!stop_now && clock::now() < deadline)) {
      co_await st->done.wait_until(st->exited ? clock::time_point::max() : deadline);
    } else if (!terminated) {
      st->fail(stop_now ? failure::stopped : failure::timeout, "");
      st->proc->signal_group(SIGTERM);
      terminated = true;
      deadline = clock::now() + st->lim.kill_grace;
    } else {
      st->proc->signal_group(SIGKILL);
      st->killed_after_grace = true;
      deadline = clock::time_point::max();
    }
  }
}

// Why the process was ended: its timeout, or its caller's stop request.
std::string termination_message(const run_state& st) {
  std::string text = st.what == failure::timeout
                         ? "timed out after " + millis(st.lim.timeout) + "; "
                         : std::string("stopped by its caller; ");
  if (st.killed_after_grace) {
    return text + "still running " + millis(st.lim.kill_grace) +
           " after SIGTERM, so the process group was killed with SIGKILL";
  }
  return text + "sent SIGTERM to the process group; it " + describe(st.status);
}

outcome finish(run_state& st) {
  outcome o;
  o.exit_code = st.status.code;
  o.signal = st.status.signal;
  o.stderr_tail = st.err.tail();
  o.output = std::move(st.output);
  if (st.what != failure::none) {
    o.what = st.what;
    const bool ended = st.what == failure::timeout || st.what == failure::stopped;
    o.message = ended ? termination_message(st) : st.message;
  } else if (!st.status.known) {
    o.what = failure::io_error;
    o.message = describe(st.status);
  } else if (st.status.signal != 0) {
    o.what = failure::signal;
    o.message = describe(st.status);
  } else if (st.status.code != 0) {
    o.what = failure::exit_code;
    o.message = describe(st.status);
  }
  return o;
}

outcome failed(failure f, std::string message) {
  outcome o;
  o.what = f;
  o.message = std::move(message);
  return o;
}

// The per-invocation metadata file: a fresh name in the metadata directory, which the script
// creates if it has something to say. Nothing is created up front: a file created and deleted
// per message made every invocation wait for the journal of a file system that the broker
// fsyncs. Parsed after the exit, deleted on every path.
class metadata_file {
 public:
  static result<metadata_file> reserve(const std::string& dir) {
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      return fail(std::error_code(errno, std::system_category()));
    }
    // Unique within the process; the directory is private to it (see invocation).
    static std::atomic<std::uint64_t> last{0};
    return metadata_file(dir + "/shfn-metadata-" + std::to_string(::getpid()) + "-" +
                         std::to_string(++last));
  }
  metadata_file(metadata_file&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  metadata_file& operator=(metadata_file&&) = delete;
  ~metadata_file() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  const std::string& path() const { return path_; }

  // Reads the file by path (the script may have replaced it), refusing anything but a regular
  // file: opening a FIFO put there would block.
  output_metadata parse() const {
    output_metadata none;
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) return none;  // deleted by the script: nothing to say
    // Sized to the file (almost always a few bytes, often none), not to the limit: a buffer of
    // the limit's size per message cost a mapping, its page faults and its unmapping.
    std::string text;
    struct stat st {};
    std::size_t size = 0;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      // One byte past the limit tells that it was exceeded; a file growing meanwhile is cut.
      text.resize(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), max_metadata_bytes) +
                  1);
      while (size < text.size()) {
        const ssize_t n = ::read(fd, text.data() + size, text.size() - size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size += static_cast<std::size_t>(n);
      }
    } else {
      none.warnings.push_back("metadata file is not a regular file; ignored");
    }
    ::close(fd);
    text.resize(std::min(size, max_metadata_bytes));
    output_metadata m = parse_metadata(text);
    m.warnings.insert(m.warnings.end(), none.warnings.begin(), none.warnings.end());
    if (size > max_metadata_bytes) {
      m.warnings.push_back("metadata file larger than " + std::to_string(max_metadata_bytes) +
                           " bytes; the rest was ignored");
    }
    return m;
  }

 private:
  explicit metadata_file(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

void set_env(env_list& env, const std::string& name, const std::string& value) {
  for (auto& [n, v] : env) {
    if (n == name) {
      v = value;
      return;
    }
  }
  env.emplace_back(name, value);
}

// Why the invocation's own inputs cannot be passed to a process, if they cannot.
std::optional<std::string> reject_input(const invocation& inv) {
  for (std::size_t i = 0; i < inv.extra_args.size(); ++i) {
    if (inv.extra_args[i].find('\0') != std::string::npos) {
      return "argument " + std::to_string(i + 1) + " contains a NUL byte";
    }
  }
  for (const auto& [name, value] : inv.extra_env) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
      return "invalid environment variable name '" + name + "'";
    }
    if (value.find('\0') != std::string::npos) {
      return "environment variable " + name + " contains a NUL byte";
    }
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<outcome> run_once(command cmd, invocation inv, limits lim, line_sink on_stderr) {
  spawn_spec spec{std::move(cmd.argv), std::move(cmd.env), std::move(cmd.working_dir)};
  if (auto why = reject_input(inv)) co_return failed(failure::input_rejected, *why);
  if (inv.stop.stop_requested()) co_return failed(failure::stopped, "stopped before it started");
  spec.argv.insert(spec.argv.end(), inv.extra_args.begin(), inv.extra_args.end());
  for (const auto& [name, value] : inv.extra_env) set_env(spec.env, name, value);

  std::optional<metadata_file> metadata;
  if (!inv.metadata_dir.empty()) {
    auto created = metadata_file::reserve(inv.metadata_dir);
    if (!created) {
      co_return failed(failure::io_error, "cannot use '" + inv.metadata_dir +
                                              "' for metadata files: " + created.error().message());
    }
    metadata.emplace(std::move(*created));
    set_env(spec.env, metadata_env_var, metadata->path());
  }

  auto started = spawn_child(spec);
  if (!started) {
    co_return failed(failure::spawn_failed, spawn_error_message(spec, started.error()));
  }
  auto ex = co_await asio::this_coro::executor;
  auto proc = std::make_unique<child>(ex, std::move(*started));
  auto st =
      std::make_shared<run_state>(std::move(proc), std::move(inv.input), lim, std::move(on_stderr));
  feed_stdin(st);
  read_stdout(st);
  read_stderr(st);
  watch_exit(st);
  const std::stop_callback on_stop(inv.stop, [&state = *st] {
    state.stop_requested = true;
    state.done.notify_all();
  });
  co_await wait_for_exit(st);
  outcome o = finish(*st);
  if (metadata) o.metadata = metadata->parse();
  co_return o;
}

void ignore_sigpipe() {
  struct sigaction sa {};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGPIPE, &sa, nullptr);
}

}  // namespace shfn::exec
