#pragma once
// Exclusive ownership of a storage directory, so that two brokers (or a broker and a stray
// restart) never write the same logs. A POSIX record lock (fcntl F_SETLK) on DIR/LOCK:
// - the kernel drops it when the holder exits, however it exits, so a crash never leaves a stale
//   lock behind;
// - it belongs to the process, not to the descriptor, so a child that inherits the descriptor
//   (a script spawned between fork and exec) never holds the lock after its parent is gone.
// The price of per-process locks: the kernel does not refuse a second lock in the same process,
// and closing any descriptor on the file drops the lock. A process-wide table of held
// directories answers the first; only dir_lock ever opens the file, which settles the second.
// The file also holds the holder's pid, only to make the refusal message useful.

#include <sys/types.h>

#include <filesystem>
#include <utility>

#include "base/result.h"
#include "storage/file.h"

namespace shfn::storage {

class dir_lock {
 public:
  // Creates `dir` and DIR/LOCK if missing. Fails with dir_in_use_error(pid) while another
  // dir_lock holds it, whether in this process or another.
  [[nodiscard]] static result<dir_lock> acquire(const std::filesystem::path& dir);

  dir_lock(dir_lock&& other) noexcept;
  dir_lock& operator=(dir_lock&&) = delete;
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;
  ~dir_lock();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  using identity = std::pair<dev_t, ino_t>;  // of the directory, as stat(2) tells it

  dir_lock(std::filesystem::path dir, identity id, unique_fd fd)
      : dir_(std::move(dir)), id_(id), fd_(std::move(fd)) {}

  std::filesystem::path dir_;
  identity id_;
  unique_fd fd_;
};

}  // namespace shfn::storage
