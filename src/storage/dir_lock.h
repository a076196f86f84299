#pragma once
// Exclusive ownership of a storage directory, so that two brokers (or a broker and a stray
// restart) never write the same logs. An flock(2) on DIR/LOCK: the kernel drops it when the
// holder exits, however it exits, so a crash never leaves a stale lock behind. The file also
// holds the holder's pid, only to make the refusal message useful.

#include <filesystem>

#include "base/result.h"
#include "storage/file.h"

namespace shfn::storage {

class dir_lock {
 public:
  // Creates `dir` and DIR/LOCK if missing. Fails with dir_in_use_error(pid) while another
  // dir_lock holds it, whether in this process or another.
  [[nodiscard]] static result<dir_lock> acquire(const std::filesystem::path& dir);

  dir_lock(dir_lock&&) noexcept = default;
  dir_lock& operator=(dir_lock&&) noexcept = default;
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;
  ~dir_lock();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  dir_lock(std::filesystem::path dir, unique_fd fd) : dir_(std::move(dir)), fd_(std::move(fd)) {}

  std::filesystem::path dir_;
  unique_fd fd_;
};

}  // namespace shfn::storage
