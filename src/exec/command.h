#pragma once
// What the executor runs and what it reports: the command, its limits, and the outcome of one
// invocation (exec mode) or one request (stream mode). Plain data, no I/O.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"

namespace shfn::exec {

struct command {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in the child's PATH
  std::string working_dir;        // empty: inherit shfn's
  std::vector<std::pair<std::string, std::string>> env;  // the child's whole environment
};

struct limits {
  std::size_t max_output = 5 << 20;            // stdout bytes (per response in stream mode)
  std::chrono::milliseconds timeout{0};        // 0: none
  std::chrono::milliseconds kill_grace{2000};  // SIGTERM to SIGKILL
  std::size_t stderr_tail = 4096;
  std::size_t max_stderr_line = 4096;
};

enum class failure {
  none,
  exit_code,
  signal,
  timeout,
  output_too_large,
  spawn_failed,
  input_rejected,
  worker_crashed,
  worker_restarted,
  io_error,
  stopped,  // the caller asked it to stop (invocation::stop), e.g. shfn is shutting down
};
std::string_view to_string(failure f);

// What a script wrote to its metadata file (see parse_metadata and README.md).
struct output_metadata {
  std::optional<std::string> key;
  std::vector<std::pair<std::string, std::string>> properties;
  std::vector<std::pair<std::string, std::string>> attributes;  // ce.NAME
  std::vector<std::string> warnings;                            // lines that could not be parsed
};

// Parses the metadata file: `key=V`, `property.NAME=V`, `ce.NAME=V` (NAME: lower-case letters
// and digits, as CloudEvents requires), one per line; blank lines and `#` comments are skipped.
// A name given twice keeps its last value. Anything else becomes a warning, never an error:
// a script's typo must not cost the message.
output_metadata parse_metadata(std::string_view text);

struct outcome {
  failure what = failure::none;
  int exit_code = 0;         // when the process exited
  int signal = 0;            // when killed by a signal
  bytes output;              // stdout (exec) or the response frame (stream)
  output_metadata metadata;  // exec mode only
  std::string stderr_tail;
  std::string message;  // human-readable, for logs and dead letters: "exited with code 3"
  bool ok() const { return what == failure::none; }
};

using line_sink = std::function<void(std::string_view line)>;  // one stderr line, no '\n'

}  // namespace shfn::exec
