#pragma once
// Line-buffered stdout for stream-mode workers, by coreutils' stdbuf mechanism.
//
// A C program's stdio buffers its stdout fully when stdout is a pipe: `rev`, `tr`, `cut`, `sed`,
// `awk` and `grep` answer a lone line only once 4 KiB of answers have piled up or their input
// ends, so a stream-mode worker would sit on the one request it has until its timeout kills it.
// `stdbuf -oL cmd` fixes that by preloading coreutils' libstdbuf.so with _STDBUF_O=L in the
// command's environment (inherited by what it runs, so a bash script's `rev` is covered too);
// the runtime does the same for every worker of the `lines` framing, where the system has the
// library. It does nothing for programs that do not buffer through C stdio (Python, Java, Go,
// static binaries): those must flush each answer themselves (docs/functions.md).
//
// A user who sets _STDBUF_O in the function's env keeps it (`_STDBUF_O=65536` restores
// full buffering).

#include <optional>
#include <string>
#include <vector>

#include "exec/spawn.h"

namespace shfn::exec {

// Where this system's libstdbuf.so is, if it has one.
std::optional<std::string> find_libstdbuf();

// `env` with `library` preloaded and _STDBUF_O=L, unless it already names a _STDBUF_O.
env_list with_line_buffered_stdout(env_list env, const std::string& library);

}  // namespace shfn::exec
