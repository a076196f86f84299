#include "base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <string>

namespace shfn::log {

void init(std::string_view default_level) {
  auto logger = spdlog::stderr_color_mt("shfn");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  const char* env = std::getenv("SHFN_LOG");
  std::string level = env != nullptr ? env : std::string(default_level);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace shfn::log
