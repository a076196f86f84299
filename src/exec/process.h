#pragma once
// Exec mode: one process per message.
//
// run_once spawns the command in a new process group (see spawn.h for what the child gets),
// writes the input to its stdin and closes it, collects stdout up to limits.max_output,
// delivers stderr line by line, enforces the timeout and honours a stop request (SIGTERM to the
// group, SIGKILL kill_grace later), and returns only once the process is reaped. When the process
// exits, what is left of its group is SIGKILLed and its pipes are drained of what is already
// readable: a background child holding stdout cannot hold up the invocation.
//
// Threading: everything runs on the executor of the calling coroutine (a single-threaded
// io_context, no thread per process); on_stderr is called there, as lines arrive.
//
// SIGPIPE: writes to a child's stdin never raise SIGPIPE in shfn (see pipe_io.h), so the caller
// does not have to ignore it; ignore_sigpipe() is there for a runtime that wants it anyway.

#include <asio/awaitable.hpp>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "exec/command.h"

namespace shfn::exec {

// The environment variable naming the metadata file, when invocation::metadata_dir is set.
inline constexpr const char* metadata_env_var = "SHFN_OUTPUT_METADATA";

struct invocation {
  bytes input;                          // written to stdin, then stdin is closed
  std::vector<std::string> extra_args;  // appended to argv; one holding NUL: input_rejected
  std::vector<std::pair<std::string, std::string>> extra_env;  // overrides command.env entries
  // Where the metadata file is named (the script creates it); empty: no metadata file. Must be
  // private to this process (mode 0700, as temp_dir makes it): names are predictable.
  std::string metadata_dir;
  // When stop is requested (from the caller's executor), the process is ended as at a timeout
  // and the outcome is `stopped`: a runtime that shuts down does not wait for a script that
  // will not finish. Requested before the spawn: nothing runs.
  std::stop_token stop;
};

// Runs `cmd` once. Every argument is taken by value, so nothing needs to outlive the call. Pass
// them as named objects (std::move(inv)), never as braced temporaries: GCC 12 may destroy such a
// coroutine argument twice.
//
// Failures are reported in the outcome, never thrown: spawn_failed (message names the path),
// input_rejected, timeout, output_too_large, signal, exit_code, io_error, stopped.
asio::awaitable<outcome> run_once(command cmd, invocation inv, limits lim, line_sink on_stderr);

// Sets SIGPIPE to SIG_IGN for the whole process (children still get the default). Optional.
void ignore_sigpipe();

}  // namespace shfn::exec
