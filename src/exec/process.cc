#include "exec/process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
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

constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t max_metadata_bytes = 1 << 20;

std::string errno_text(int e) {
  return std::error_code(e, std::system_category()).message();
}

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

// Shared by run_once and its helper coroutines (stdin writer, stdout and stderr readers, exit
// watcher). Each holds a shared_ptr, so none outlives it; run_once waits for all of them.
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

  std::unique_ptr<child> proc;
  bytes input;
  limits lim;
  line_sink on_stderr;
  bytes output;
  stderr_lines err;
  bool exited = false;
  exit_status status;
  failure what = failure::none;
  std::string message;
  bool killed_after_grace = false;
  int helpers = 0;
  notifier changed;  // any of the above changed; waiters re-check their condition
};

// Marks a helper coroutine finished, on every path out of it.
struct helper_scope {
  explicit helper_scope(run_state& owner) : st(owner) {}
  helper_scope(const helper_scope&) = delete;
  helper_scope& operator=(const helper_scope&) = delete;
  ~helper_scope() {
    --st.helpers;
    st.changed.notify_all();
  }
  run_state& st;
};

awaitable<void> write_stdin(std::shared_ptr<run_state> st) {
  helper_scope scope{*st};
  auto& pipe = st->proc->stdin_pipe();
  std::size_t written = 0;
  while (written < st->input.size() && !st->exited) {
    const auto r = write_some(pipe.native_handle(), byte_view(st->input).subspan(written));
    if (r.status == io_status::transferred) {
      written += r.count;
      continue;
    }
    // EPIPE: the script does not read (all of) its stdin, which is its right.
    if (r.status != io_status::would_block) break;
    const bool ready = co_await wait_ready(pipe, descriptor::wait_write);
    if (!ready) break;
  }
  std::error_code ignored;
  pipe.close(ignored);
  st->input = bytes();
}

void output_too_large(run_state& st) {
  st.fail(failure::output_too_large, "stdout exceeded the limit of " +
                                         std::to_string(st.lim.max_output) +
                                         " bytes; the process group was killed");
  st.proc->signal_group(SIGKILL);
  st.output = bytes();
  std::error_code ignored;
  st.proc->stdout_pipe().close(ignored);
}

// Where reads land before they are copied out: one per thread, so an invocation allocates and
// zeroes nothing up front (a 64 KiB buffer per pipe per message showed in profiles). Safe to
// share between coroutines because each read is consumed before the next co_await.
std::span<std::uint8_t> scratch() {
  thread_local std::vector<std::uint8_t> buffer(read_chunk);
  return buffer;
}

awaitable<void> read_stdout(std::shared_ptr<run_state> st) {
  helper_scope scope{*st};
  auto& pipe = st->proc->stdout_pipe();
  while (pipe.is_open()) {
    // Never more than one byte past the limit: enough to know it was exceeded.
    const std::size_t room = st->lim.max_output - st->output.size();
    const auto r = read_some(pipe.native_handle(), scratch().first(std::min(read_chunk, room + 1)));
    if (r.status == io_status::transferred) {
      const auto chunk = scratch().first(r.count);
      st->output.insert(st->output.end(), chunk.begin(), chunk.end());
      if (st->output.size() > st->lim.max_output) output_too_large(*st);
      continue;
    }
    if (r.status == io_status::eof) break;  // exited, or closed stdout early (exec 1>&-)
    if (r.status == io_status::failed) {
      st->fail(failure::io_error, "reading stdout: " + errno_text(r.error));
      st->proc->signal_group(SIGKILL);
      break;
    }
    // Drained after the exit: what may come later belongs to a process that outlived it.
    if (st->exited) break;
    const bool ready = co_await wait_ready(pipe, descriptor::wait_read);
    if (!ready) break;
  }
}

awaitable<void> read_stderr(std::shared_ptr<run_state> st) {
  helper_scope scope{*st};
  auto& pipe = st->proc->stderr_pipe();
  while (pipe.is_open()) {
    const auto r = read_some(pipe.native_handle(), scratch());
    if (r.status == io_status::transferred) {
      const auto chunk = scratch().first(r.count);
      st->err.feed({reinterpret_cast<const char*>(chunk.data()), chunk.size()}, st->on_stderr);
      continue;
    }
    if (r.status != io_status::would_block || st->exited) break;
    const bool ready = co_await wait_ready(pipe, descriptor::wait_read);
    if (!ready) break;
  }
  st->err.finish(st->on_stderr);
}

awaitable<void> watch_exit(std::shared_ptr<run_state> st) {
  helper_scope scope{*st};
  st->status = co_await st->proc->wait_exit();
  st->exited = true;
  st->proc->cancel_waits(true, true, true);  // the others drain and finish
}

void start_helpers(const asio::any_io_executor& ex, const std::shared_ptr<run_state>& st) {
  st->helpers = 4;
  asio::co_spawn(ex, write_stdin(st), asio::detached);
  asio::co_spawn(ex, read_stdout(st), asio::detached);
  asio::co_spawn(ex, read_stderr(st), asio::detached);
  asio::co_spawn(ex, watch_exit(st), asio::detached);
}

// Waits for the exit (and the helpers), sending SIGTERM to the group at the deadline and
// SIGKILL kill_grace later.
awaitable<void> wait_for_exit(std::shared_ptr<run_state> st) {
  const bool has_timeout = st->lim.timeout.count() > 0;
  auto deadline = has_timeout ? clock::now() + st->lim.timeout : clock::time_point::max();
  bool terminated = false;
  while (!st->exited) {
    co_await st->changed.wait_until(deadline);
    if (st->exited || clock::now() < deadline) continue;
    if (!terminated) {
      st->fail(failure::timeout, "");
      st->proc->signal_group(SIGTERM);
      terminated = true;
      deadline = clock::now() + st->lim.kill_grace;
    } else {
      st->proc->signal_group(SIGKILL);
      st->killed_after_grace = true;
      deadline = clock::time_point::max();
    }
  }
  while (st->helpers > 0) co_await st->changed.wait();
}

std::string timeout_message(const run_state& st) {
  std::string text = "timed out after " + millis(st.lim.timeout) + "; ";
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
    o.message = st.what == failure::timeout ? timeout_message(st) : st.message;
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

asio::awaitable<outcome> run_once(const command& cmd, invocation inv, const limits& lim,
                                  line_sink on_stderr) {
  const limits lim_copy = lim;
  spawn_spec spec{cmd.argv, cmd.env, cmd.working_dir};
  if (auto why = reject_input(inv)) co_return failed(failure::input_rejected, *why);
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
  auto st = std::make_shared<run_state>(std::move(proc), std::move(inv.input), lim_copy,
                                        std::move(on_stderr));
  start_helpers(ex, st);
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
