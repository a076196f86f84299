#include "storage/dir_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <string>

#include "storage/errc.h"

namespace shfn::storage {
namespace {

// The directories this process holds. The kernel cannot say: it grants a process's second lock.
class held_directories {
 public:
  static held_directories& instance() {
    static held_directories table;
    return table;
  }
  bool claim(const std::pair<dev_t, ino_t>& id) {
    std::lock_guard guard(mutex_);
    return held_.insert(id).second;
  }
  void release(const std::pair<dev_t, ino_t>& id) {
    std::lock_guard guard(mutex_);
    held_.erase(id);
  }

 private:
  std::mutex mutex_;
  std::set<std::pair<dev_t, ino_t>> held_;
};

result<std::pair<dev_t, ino_t>> identify(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return fail(last_system_error());
  return std::pair{st.st_dev, st.st_ino};
}

// Takes the whole-file write lock, or names the process that has it (0 when the kernel cannot
// say, e.g. across pid namespaces).
result<void> lock_whole_file(int fd) {
  struct flock whole {};
  whole.l_type = F_WRLCK;
  whole.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLK, &whole) == 0) return {};
  if (errno != EACCES && errno != EAGAIN) return fail(last_system_error());
  struct flock holder = whole;
  const bool known = ::fcntl(fd, F_GETLK, &holder) == 0 && holder.l_type != F_UNLCK;
  return fail(dir_in_use_error(known ? holder.l_pid : 0));
}

result<void> record_our_pid(int fd) {
  if (auto ok = truncate_file(fd, 0); !ok) return ok;
  const std::string pid = std::to_string(::getpid()) + "\n";
  return write_all_at(fd, as_bytes(pid), 0);
}

}  // namespace

result<dir_lock> dir_lock::acquire(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ec);
  auto id = identify(dir);
  if (!id) return fail(id.error());
  // Checked before the file is opened: opening and closing it again would drop our own lock.
  if (!held_directories::instance().claim(*id)) return fail(dir_in_use_error(::getpid()));
  auto fd = open_file(dir / "LOCK", O_RDWR | O_CREAT);
  result<void> locked = fd ? lock_whole_file(fd->get()) : fail(fd.error());
  if (locked) locked = record_our_pid(fd->get());
  if (!locked) {
    if (fd) fd->reset();  // closed before the claim is released, as in the destructor
    held_directories::instance().release(*id);
    return fail(locked.error());
  }
  return dir_lock(dir, *id, std::move(*fd));
}

dir_lock::dir_lock(dir_lock&& other) noexcept
    : dir_(std::move(other.dir_)), id_(std::move(other.id_)), fd_(std::move(other.fd_)) {}

dir_lock::~dir_lock() {
  if (!fd_.valid()) return;  // moved from
  // Clear the pid while still holding the lock, so nobody reads a stale one; the file stays, as
  // unlinking a lock file races with the next acquirer's open. The descriptor is closed before
  // the claim is given up, so that a new holder in this process never has its lock dropped by
  // our close.
  (void)truncate_file(fd_.get(), 0);
  fd_.reset();
  held_directories::instance().release(id_);
}

}  // namespace shfn::storage
