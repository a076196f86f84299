#pragma once
// Helpers for the config tests: a fresh temporary directory per test, files written into it, and
// loading YAML text with every error rendered as the one-line string users see.

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/spec.h"

namespace shfn::config::testing {

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "shfn-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

  // Writes `content` to `relative` (making parent directories) with the given mode.
  std::filesystem::path write(const std::string& relative, std::string_view content,
                              mode_t mode = 0644) const {
    auto p = path_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }

 private:
  std::filesystem::path path_;
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

}  // namespace shfn::config::testing
