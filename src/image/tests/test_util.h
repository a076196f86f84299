#pragma once
// A temporary directory tree for the image tests: files written with a mode, links, FIFOs.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "base/temp_dir.h"

namespace shfn::image::testing {

class tree : public shfn::temp_dir {
 public:
  tree() : shfn::temp_dir("shfn-image") {}

  std::filesystem::path write(const std::string& relative, std::string_view content,
                              mode_t mode = 0644) const {
    auto p = path() / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }

  void link(const std::string& relative, const std::string& target) const {
    auto p = path() / relative;
    std::filesystem::create_directories(p.parent_path());
    std::filesystem::create_symlink(target, p);
  }
};

}  // namespace shfn::image::testing
