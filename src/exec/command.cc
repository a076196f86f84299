#include "exec/command.h"

namespace shfn::exec {

std::string_view to_string(failure f) {
  switch (f) {
    case failure::none:
      return "none";
    case failure::exit_code:
      return "exit_code";
    case failure::signal:
      return "signal";
    case failure::timeout:
      return "timeout";
    case failure::output_too_large:
      return "output_too_large";
    case failure::spawn_failed:
      return "spawn_failed";
    case failure::input_rejected:
      return "input_rejected";
    case failure::worker_crashed:
      return "worker_crashed";
    case failure::worker_restarted:
      return "worker_restarted";
    case failure::io_error:
      return "io_error";
    case failure::stopped:
      return "stopped";
  }
  return "unknown";
}

}  // namespace shfn::exec
