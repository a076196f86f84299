#pragma once
// Test helpers: a fresh directory per test, and blunt edits of files to simulate crashes and
// bit rot.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/temp_dir.h"

namespace shfn::storage::testing {

using shfn::temp_dir;

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

// Crash tests: a forked child reports its progress to the parent as 8-byte big-endian numbers
// on a pipe, so the parent knows what was done before it killed the child.
inline bool write_report(int fd, std::uint64_t value) {
  std::array<std::uint8_t, 8> report{};
  for (int b = 0; b < 8; ++b) report[b] = static_cast<std::uint8_t>(value >> (56 - 8 * b));
  return ::write(fd, report.data(), report.size()) == 8;
}

// Reads one report; false at the end of the stream.
inline bool read_report(int fd, std::uint64_t& value) {
  std::array<std::uint8_t, 8> report{};
  std::size_t got = 0;
  while (got < report.size()) {
    const ssize_t n = ::read(fd, report.data() + got, report.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  value = 0;
  for (std::uint8_t b : report) value = (value << 8) | b;
  return true;
}

}  // namespace shfn::storage::testing
