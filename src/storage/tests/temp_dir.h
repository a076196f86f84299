#pragma once
// Test helpers: a fresh directory per test, and blunt edits of files to simulate crashes and
// bit rot.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace shfn::storage::testing {

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "shfn-storage-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Files in `dir` whose names end in `extension`, sorted.
inline std::vector<std::filesystem::path> files_with_extension(const std::filesystem::path& dir,
                                                               const std::string& extension) {
  std::vector<std::filesystem::path> out;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() == extension) out.push_back(f.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline void flip_byte(const std::filesystem::path& file, std::uint64_t position) {
  const int fd = ::open(file.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  unsigned char b = 0;
  ASSERT_EQ(::pread(fd, &b, 1, static_cast<off_t>(position)), 1);
  b ^= 0x5a;
  ASSERT_EQ(::pwrite(fd, &b, 1, static_cast<off_t>(position)), 1);
  ::close(fd);
}

inline void overwrite(const std::filesystem::path& file, std::uint64_t position,
                      const std::string& text) {
  const int fd = ::open(file.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, text.data(), text.size(), static_cast<off_t>(position)),
            static_cast<ssize_t>(text.size()));
  ::close(fd);
}

inline void cut_bytes(const std::filesystem::path& file, std::uint64_t how_many) {
  std::filesystem::resize_file(file, std::filesystem::file_size(file) - how_many);
}

}  // namespace shfn::storage::testing
