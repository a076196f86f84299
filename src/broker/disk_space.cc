#include "broker/disk_space.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace shfn::broker {
namespace {

std::uint64_t total_bytes(const std::filesystem::path& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
}

std::uint64_t available_bytes(const std::filesystem::path& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return 0;
  return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
}

std::string mebibytes(std::uint64_t bytes) {
  return std::to_string(bytes >> 20) + "." +
         std::to_string(((bytes & ((1 << 20) - 1)) * 10) >> 20) + " MiB";
}

}  // namespace

std::uint64_t disk_space::resume_at() const {
  return std::min(resume_free_bytes, total_bytes(dir_) / 8);
}

std::uint64_t disk_space::reserve() const {
  return std::min(reserve_bytes, total_bytes(dir_) / 16);
}

void disk_space::hold_reserve() {
  const int fd = ::open(reserve_path().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  const int rc = fd < 0 ? errno : ::posix_fallocate(fd, 0, static_cast<off_t>(reserve()));
  if (fd >= 0) ::close(fd);
  if (rc == 0) return;
  std::error_code ec;
  std::filesystem::remove(reserve_path(), ec);
  spdlog::warn(
      "cannot set {} aside in {} ({}): on a full disk, new readers and subscriptions "
      "may fail too",
      mebibytes(reserve()), reserve_path().string(), std::strerror(rc));
}

bool disk_space::is_no_space(const std::error_code& failure) {
  return failure == std::errc::no_space_on_device ||
         failure == std::error_code(EDQUOT, std::system_category());
}

bool disk_space::entered_full(const std::error_code& failure) {
  if (full_ || !is_no_space(failure)) return false;
  full_ = true;
  std::error_code ec;
  std::filesystem::remove(reserve_path(), ec);  // for the consumers' writes, until space returns
  free_bytes_ = available_bytes(dir_);
  spdlog::error("disk full: {} (writing {}); producers are closed and refused until {} are free",
                dir_.string(), failure.message(), mebibytes(resume_at()));
  return true;
}

bool disk_space::recheck() {
  if (!full_) return false;
  free_bytes_ = available_bytes(dir_);
  if (free_bytes_ < resume_at()) return true;
  full_ = false;
  hold_reserve();
  spdlog::info("disk space is back ({} free in {}): producers are accepted again",
               mebibytes(free_bytes_), dir_.string());
  return false;
}

std::string disk_space::refusal() const {
  return "disk full: the broker's data directory " + dir_.string() + " has " +
         mebibytes(free_bytes_) + " free; producers are refused until " + mebibytes(resume_at()) +
         " are";
}

}  // namespace shfn::broker
