#pragma once
// Starting a child: posix_spawn in a new process group, with three fresh pipes and a pidfd.
// Synchronous and Asio-free; child.h wraps the result for the event loop.
//
// The child gets: its own process group (pgid = its pid), so that signals reach everything it
// starts; stdin/stdout/stderr on pipes and no other descriptor of ours (everything from 3 up
// is closed, since Asio's sockets are not close-on-exec); an empty signal mask and every signal
// at its default disposition (a SIG_IGN of ours, SIGPIPE included, is not inherited).

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "exec/fd.h"

namespace shfn::exec {

using env_list = std::vector<std::pair<std::string, std::string>>;

struct spawn_spec {
  std::vector<std::string> argv;  // argv[0]: a path (relative to working_dir), or a PATH name
  env_list env;                   // the child's whole environment
  std::string working_dir;        // empty: ours
};

struct spawned {
  pid_t pid = -1;  // also the process group id
  unique_fd pidfd;
  unique_fd stdin_pipe;   // our ends: close-on-exec and still blocking (child.h makes them
  unique_fd stdout_pipe;  // non-blocking, telling Asio so, which then need not do it again)
  unique_fd stderr_pipe;
};

// Where `name` is found: itself when it holds a '/', else the first executable file in the
// PATH of `env` (or shfn's own PATH when `env` has none). errc::command_not_found otherwise.
result<std::string> find_program(std::string_view name, const env_list& env);

// Spawns the child, tracked from then on as one of exec's own (orphans.h): hand it to a `child`,
// which untracks it once reaped. Errors: errc (empty argv, NUL bytes, bad working directory, not
// found) or the errno of posix_spawn (ENOENT, EACCES, ENOEXEC...), pipe2 or pidfd_open.
result<spawned> spawn_child(const spawn_spec& spec);

// "cannot run '/bin/nope': No such file or directory", naming the path and working directory.
std::string spawn_error_message(const spawn_spec& spec, std::error_code ec);

}  // namespace shfn::exec
