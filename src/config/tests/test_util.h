#pragma once
// Helpers for the config tests: a fresh temporary directory per test, files written into it, and
// loading YAML text with every error rendered as the one-line string users see.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/temp_dir.h"
#include "config/spec.h"

namespace shfn::config::testing {

// base's temp_dir, plus the two things these tests do with it all the time.
class temp_dir : public shfn::temp_dir {
 public:
  temp_dir() : shfn::temp_dir("shfn-config") {}

  std::string str() const { return path().string(); }

  // Writes `content` to `relative` (making parent directories) with the given mode.
  std::filesystem::path write(const std::string& relative, std::string_view content,
                              mode_t mode = 0644) const {
    auto p = path() / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }
};

// Every error of loading `yaml` (as file "f.yaml" with relative paths starting at `base_dir`), in
// the "FILE:LINE:COL: FIELD: MESSAGE" form.
inline std::vector<std::string> errors_of(std::string_view yaml,
                                          const std::string& base_dir = "/") {
  auto r = load_string(yaml, "f.yaml", base_dir);
  std::vector<std::string> out;
  if (r) return out;
  for (const auto& e : r.error()) out.push_back(e.to_string());
  return out;
}

// `yaml` loaded as file "f.yaml"; each error, if any, fails the test (and an empty spec comes
// back).
inline spec_file load_ok(std::string_view yaml) {
  auto r = load_string(yaml, "f.yaml", "/");
  if (!r) {
    for (const auto& e : r.error()) ADD_FAILURE() << e.to_string();
    return {};
  }
  return std::move(*r);
}

}  // namespace shfn::config::testing
