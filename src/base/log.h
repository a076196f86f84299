#pragma once
// Process-wide logging through spdlog, to stderr. Levels come from SHFN_LOG (trace..off).

#include <spdlog/spdlog.h>

namespace shfn::log {

// Reads SHFN_LOG and sets the default logger's level and pattern; call once from main().
void init(std::string_view default_level = "info");

}  // namespace shfn::log
