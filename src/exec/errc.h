#pragma once
// Errors of the process executor that are not an errno. Failures of the operating system
// (posix_spawn, pipe2, pidfd_open) stay std::system_category() codes with their errno.

#include <system_error>

namespace shfn::exec {

enum class errc {
  empty_command = 1,
  command_not_found,
  not_a_directory,
  contains_nul,
  bad_environment,
  payload_contains_delimiter,
  payload_too_large,
  frame_too_large,
  bad_options,
};

const std::error_category& exec_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), exec_category()};
}

}  // namespace shfn::exec

template <>
struct std::is_error_code_enum<shfn::exec::errc> : std::true_type {};
