#pragma once
// A fresh private directory under $TMPDIR (or /tmp), removed with everything in it on
// destruction: the runtime's scratch space, and every test's.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace shfn {

class temp_dir {
 public:
  // Named "<prefix>.XXXXXX"; path() is empty if it could not be created.
  explicit temp_dir(std::string_view prefix = "shfn") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace shfn
