#include "exec/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>

#include "exec/errc.h"
#include "exec/orphans.h"

namespace shfn::exec {
namespace {

std::error_code errno_code(int e) {
  return {e, std::system_category()};
}

bool has_nul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

result<void> check_strings(const spawn_spec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) return fail(errc::empty_command);
  for (const auto& arg : spec.argv) {
    if (has_nul(arg)) return fail(errc::contains_nul);
  }
  for (const auto& [name, value] : spec.env) {
    if (name.empty() || name.find('=') != std::string::npos) return fail(errc::bad_environment);
    if (has_nul(name) || has_nul(value)) return fail(errc::contains_nul);
  }
  if (has_nul(spec.working_dir)) return fail(errc::contains_nul);
  return {};
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// A pipe whose two ends are close-on-exec and numbered 3 or more, so that dup2 onto 0..2 in the
// child always makes a new descriptor (dup2(fd, fd) would keep close-on-exec set).
result<std::pair<unique_fd, unique_fd>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_code(errno));
  std::pair<unique_fd, unique_fd> ends{unique_fd(fds[0]), unique_fd(fds[1])};
  for (unique_fd* end : {&ends.first, &ends.second}) {
    if (end->get() > 2) continue;
    const int moved = ::fcntl(end->get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0) return fail(errno_code(errno));
    end->reset(moved);
  }
  return ends;
}

// The child's side of posix_spawn: pipes on 0..2, nothing else open, working directory, a new
// process group, no blocked signals, every disposition at its default.
//
// Prepared once per thread and reused: posix_spawn_file_actions_adddup2 and _addclosefrom_np
// check every descriptor against the descriptor limit, a getrlimit system call each (seven per
// spawn), and the kernel hands out the lowest free descriptors, so the same pipe numbers come
// back spawn after spawn. The last few combinations of pipe ends and working directory are kept.
class spawn_actions {
 public:
  spawn_actions() {
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_init(&attr_);
    const short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    attr_error_ = posix_spawnattr_setflags(&attr_, flags);
    if (attr_error_ == 0) attr_error_ = posix_spawnattr_setpgroup(&attr_, 0);
    if (attr_error_ == 0) attr_error_ = posix_spawnattr_setsigmask(&attr_, &none);
    if (attr_error_ == 0) attr_error_ = posix_spawnattr_setsigdefault(&attr_, &all);
  }
  spawn_actions(const spawn_actions&) = delete;
  spawn_actions& operator=(const spawn_actions&) = delete;
  ~spawn_actions() {
    for (slot& s : slots_) {
      if (s.used != 0) posix_spawn_file_actions_destroy(&s.actions);
    }
    posix_spawnattr_destroy(&attr_);
  }

  static spawn_actions& for_this_thread() {
    thread_local spawn_actions cache;
    return cache;
  }

  const posix_spawnattr_t* attr() const { return &attr_; }

  // The file actions for these pipe ends and working directory, or the error number.
  result<const posix_spawn_file_actions_t*> actions(int in, int out, int err,
                                                    const std::string& dir) {
    if (attr_error_ != 0) return fail(errno_code(attr_error_));
    slot* oldest = &slots_[0];
    for (slot& s : slots_) {
      if (s.used != 0 && s.in == in && s.out == out && s.err == err && s.dir == dir) {
        s.used = ++clock_;
        return &s.actions;
      }
      if (s.used < oldest->used) oldest = &s;
    }
    if (oldest->used != 0) posix_spawn_file_actions_destroy(&oldest->actions);
    oldest->used = 0;
    posix_spawn_file_actions_init(&oldest->actions);
    if (int rc = prepare(oldest->actions, in, out, err, dir); rc != 0) {
      posix_spawn_file_actions_destroy(&oldest->actions);
      return fail(errno_code(rc));
    }
    oldest->in = in;
    oldest->out = out;
    oldest->err = err;
    oldest->dir = dir;
    oldest->used = ++clock_;
    return &oldest->actions;
  }

 private:
  struct slot {
    int in = -1, out = -1, err = -1;
    std::string dir;
    posix_spawn_file_actions_t actions{};
    std::uint64_t used = 0;  // 0: empty; else when last used (a counter, for LRU)
  };

  static int prepare(posix_spawn_file_actions_t& a, int in, int out, int err,
                     const std::string& dir) {
    if (!dir.empty()) {
      if (int rc = posix_spawn_file_actions_addchdir_np(&a, dir.c_str())) return rc;
    }
    if (int rc = posix_spawn_file_actions_adddup2(&a, in, 0)) return rc;
    if (int rc = posix_spawn_file_actions_adddup2(&a, out, 1)) return rc;
    if (int rc = posix_spawn_file_actions_adddup2(&a, err, 2)) return rc;
    return posix_spawn_file_actions_addclosefrom_np(&a, 3);
  }

  posix_spawnattr_t attr_;
  int attr_error_ = 0;
  std::array<slot, 4> slots_;
  std::uint64_t clock_ = 0;
};

std::vector<std::string> environment_strings(const env_list& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The pidfd of a child just spawned; without one we cannot watch it, so it is killed and reaped.
// (glibc 2.36's <sys/pidfd.h> lacks extern "C", so its pidfd_open cannot be linked from C++.)
result<unique_fd> open_pidfd(pid_t pid) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) return unique_fd(fd);
  const auto ec = errno_code(errno);
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return fail(ec);
}

}  // namespace

result<std::string> find_program(std::string_view name, const env_list& env) {
  if (name.find('/') != std::string_view::npos) return std::string(name);
  const char* ours = ::getenv("PATH");
  std::string path = ours != nullptr ? ours : "/usr/local/bin:/usr/bin:/bin";
  for (const auto& [n, v] : env) {
    if (n == "PATH") path = v;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t colon = std::min(path.find(':', start), path.size());
    std::string dir = path.substr(start, colon - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + std::string(name);
    if (is_executable_file(candidate)) return candidate;
    start = colon + 1;
  }
  return fail(errc::command_not_found);
}

result<spawned> spawn_child(const spawn_spec& spec) {
  if (auto ok = check_strings(spec); !ok) return fail(ok.error());
  auto program = find_program(spec.argv[0], spec.env);
  if (!program) return fail(program.error());
  auto in = make_pipe();
  auto out = make_pipe();
  auto err = make_pipe();
  if (!in || !out || !err) return fail(!in ? in.error() : !out ? out.error() : err.error());

  auto& prepared = spawn_actions::for_this_thread();
  auto actions =
      prepared.actions(in->first.get(), out->second.get(), err->second.get(), spec.working_dir);
  if (!actions) return fail(actions.error());
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = environment_strings(spec.env);
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);
  pid_t pid = -1;
  const sweep_pause spawning;  // until the child is tracked: no sweep takes it for an orphan
  if (int rc = ::posix_spawn(&pid, program->c_str(), *actions, prepared.attr(), c_args.data(),
                             c_env.data());
      rc != 0) {
    // Checked only now, so that a spawn that works costs no stat: the child's chdir failed.
    if (!spec.working_dir.empty() && !is_directory(spec.working_dir)) {
      return fail(errc::not_a_directory);
    }
    return fail(errno_code(rc));
  }

  auto pidfd = open_pidfd(pid);
  if (!pidfd) return fail(pidfd.error());  // killed and reaped already
  track_child(pid, spawning);
  spawned s;
  s.pid = pid;
  s.pidfd = std::move(*pidfd);
  s.stdin_pipe = std::move(in->second);
  s.stdout_pipe = std::move(out->first);
  s.stderr_pipe = std::move(err->first);
  return s;  // the child's ends close here: from now on only the child holds them
}

std::string spawn_error_message(const spawn_spec& spec, std::error_code ec) {
  const std::string what =
      spec.argv.empty() ? std::string("the command") : "'" + spec.argv[0] + "'";
  std::string where;
  if (!spec.working_dir.empty()) where = " in working directory '" + spec.working_dir + "'";
  return "cannot run " + what + where + ": " + ec.message();
}

}  // namespace shfn::exec
