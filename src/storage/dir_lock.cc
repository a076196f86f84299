#include "storage/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <string>

#include "storage/errc.h"

namespace shfn::storage {
namespace {

// The pid recorded by the holder; 0 when unreadable (e.g. it is between truncate and write).
pid_t recorded_pid(int fd) {
  std::array<std::uint8_t, 32> text{};
  auto n = read_at(fd, text, 0);
  if (!n) return 0;
  pid_t pid = 0;
  const char* begin = reinterpret_cast<const char*>(text.data());
  std::from_chars(begin, begin + *n, pid);
  return pid;
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
  auto fd = open_file(dir / "LOCK", O_RDWR | O_CREAT);
  if (!fd) return fail(fd.error());
  // flock, not fcntl locks: flock belongs to the open file description, so a second acquire in
  // the same process conflicts too, and closing some other fd on the file doesn't drop it.
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return fail(last_system_error());
    return fail(dir_in_use_error(recorded_pid(fd->get())));
  }
  if (auto ok = record_our_pid(fd->get()); !ok) return fail(ok.error());
  return dir_lock(dir, std::move(*fd));
}

dir_lock::~dir_lock() {
  // Clear the pid while still holding the lock, so nobody reads a stale one; the file stays, as
  // unlinking a lock file races with the next acquirer's open.
  if (fd_.valid()) (void)truncate_file(fd_.get(), 0);
}

}  // namespace shfn::storage
