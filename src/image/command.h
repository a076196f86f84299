#pragma once
// Running the tools an image build needs (buildah, debootstrap, tar, ldd, dpkg-query, strip):
// posix_spawnp with an argv vector, never a shell, so no file or package name is ever parsed
// as shell syntax. Blocking; the build runs them one after another.

#include <optional>
#include <string>
#include <vector>

#include "image/error.h"

namespace shfn::image {

struct command_result {
  int exit_code = 0;  // the exit status, or 128 + the signal that killed it
  std::string out;    // stdout and stderr, when captured
  std::string err;
};

struct command_options {
  // Capture stdout and stderr into the result (for tools whose answer we parse).
  bool capture = false;
  // Otherwise both go to this descriptor (a log file), or to our stderr when it is -1.
  int output_fd = -1;
};

// Fails only when the program cannot be started; a non-zero exit is a result.
outcome<command_result> run_command(const std::vector<std::string>& argv,
                                    const command_options& options = {});

// `name` looked up in PATH (as execvp would), or nullopt.
std::optional<std::string> find_program(const std::string& name);

}  // namespace shfn::image
