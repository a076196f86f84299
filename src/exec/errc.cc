#include "exec/errc.h"

#include <string>

namespace shfn::exec {
namespace {

struct exec_errors final : std::error_category {
  const char* name() const noexcept override { return "shfn-exec"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::empty_command:
        return "the command has no argv[0]";
      case errc::command_not_found:
        return "command not found in PATH";
      case errc::not_a_directory:
        return "working directory does not exist or is not a directory";
      case errc::contains_nul:
        return "an argument or environment entry contains a NUL byte";
      case errc::bad_environment:
        return "an environment variable name is empty or contains '='";
      case errc::payload_contains_delimiter:
        return "payload contains the framing delimiter";
      case errc::payload_too_large:
        return "payload too large for a 4-byte length prefix";
      case errc::frame_too_large:
        return "frame larger than the output limit";
      case errc::bad_options:
        return "invalid worker pool options";
    }
    return "unknown exec error";
  }
};

}  // namespace

const std::error_category& exec_category() {
  static const exec_errors instance;
  return instance;
}

}  // namespace shfn::exec
