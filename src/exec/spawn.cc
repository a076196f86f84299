#include "exec/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "exec/errc.h"

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

result<void> set_non_blocking(const unique_fd& fd) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return fail(errno_code(errno));
  }
  return {};
}

// posix_spawn's two attribute objects, destroyed on every path.
struct spawn_attributes {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  spawn_attributes() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  spawn_attributes(const spawn_attributes&) = delete;
  spawn_attributes& operator=(const spawn_attributes&) = delete;
  ~spawn_attributes() {
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
};

// The child's side: pipes on 0..2, nothing else open, working directory, a new process group,
// no blocked signals, every disposition at its default. Returns the first error number.
int prepare(spawn_attributes& a, const spawn_spec& spec, int in, int out, int err) {
  auto* actions = &a.actions;
  if (!spec.working_dir.empty()) {
    if (int rc = posix_spawn_file_actions_addchdir_np(actions, spec.working_dir.c_str())) return rc;
  }
  if (int rc = posix_spawn_file_actions_adddup2(actions, in, 0)) return rc;
  if (int rc = posix_spawn_file_actions_adddup2(actions, out, 1)) return rc;
  if (int rc = posix_spawn_file_actions_adddup2(actions, err, 2)) return rc;
  if (int rc = posix_spawn_file_actions_addclosefrom_np(actions, 3)) return rc;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  const short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (int rc = posix_spawnattr_setflags(&a.attr, flags)) return rc;
  if (int rc = posix_spawnattr_setpgroup(&a.attr, 0)) return rc;
  if (int rc = posix_spawnattr_setsigmask(&a.attr, &none)) return rc;
  return posix_spawnattr_setsigdefault(&a.attr, &all);
}

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
  if (!spec.working_dir.empty() && !is_directory(spec.working_dir)) {
    return fail(errc::not_a_directory);
  }
  auto program = find_program(spec.argv[0], spec.env);
  if (!program) return fail(program.error());
  auto in = make_pipe();
  auto out = make_pipe();
  auto err = make_pipe();
  if (!in || !out || !err) return fail(!in ? in.error() : !out ? out.error() : err.error());
  for (const unique_fd* ours : {&in->second, &out->first, &err->first}) {
    if (auto nb = set_non_blocking(*ours); !nb) return fail(nb.error());
  }

  spawn_attributes a;
  if (int rc = prepare(a, spec, in->first.get(), out->second.get(), err->second.get()); rc != 0) {
    return fail(errno_code(rc));
  }
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = environment_strings(spec.env);
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);
  pid_t pid = -1;
  if (int rc =
          ::posix_spawn(&pid, program->c_str(), &a.actions, &a.attr, c_args.data(), c_env.data());
      rc != 0) {
    return fail(errno_code(rc));
  }

  auto pidfd = open_pidfd(pid);
  if (!pidfd) return fail(pidfd.error());
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
