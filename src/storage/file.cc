#include "storage/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "storage/faults.h"

namespace shfn::storage {

std::error_code last_system_error() {
  return {errno, std::system_category()};
}

namespace {

// A write the fault injector (faults.h) fails, as the system call would have.
std::error_code injected_fault(bool frees_space = false) {
  const int error = faults::next_write(frees_space);
  return error == 0 ? std::error_code() : std::error_code(error, std::system_category());
}

}  // namespace

result<unique_fd> open_file(const std::filesystem::path& path, int flags, mode_t mode) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail(last_system_error());
  return unique_fd(fd);
}

result<void> write_all_at(int fd, byte_view data, std::uint64_t position) {
  return write_all_at(fd, data, {}, position);
}

result<void> write_all_at(int fd, byte_view head, byte_view body, std::uint64_t position) {
  if (auto fault = injected_fault()) return fail(fault);
  while (!head.empty() || !body.empty()) {
    iovec parts[2] = {{const_cast<std::uint8_t*>(head.data()), head.size()},
                      {const_cast<std::uint8_t*>(body.data()), body.size()}};
    const ssize_t n = ::pwritev(fd, parts, 2, static_cast<off_t>(position));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(last_system_error());
    auto written = static_cast<std::size_t>(n);
    position += written;
    const std::size_t from_head = std::min(written, head.size());
    head = head.subspan(from_head);
    body = body.subspan(written - from_head);
  }
  return {};
}

result<std::size_t> read_at(int fd, std::span<std::uint8_t> out, std::uint64_t position) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(position + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(last_system_error());
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

result<std::uint64_t> file_size(int fd) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return fail(last_system_error());
  return static_cast<std::uint64_t>(st.st_size);
}

result<void> truncate_file(int fd, std::uint64_t size) {
  if (auto fault = injected_fault(/*frees_space=*/true)) return fail(fault);
  int rc = 0;
  do {
    rc = ::ftruncate(fd, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return fail(last_system_error());
  return {};
}

result<void> sync_data(int fd) {
  if (auto fault = injected_fault()) return fail(fault);
  int rc = 0;
  do {
    rc = ::fdatasync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return fail(last_system_error());
  return {};
}

result<void> sync_directory(const std::filesystem::path& dir) {
  if (auto fault = injected_fault()) return fail(fault);
  auto fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  if (!fd) return fail(fd.error());
  int rc = 0;
  do {
    rc = ::fsync(fd->get());
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return fail(last_system_error());
  return {};
}

result<void> replace_file(const std::filesystem::path& path, byte_view data) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  auto fd = open_file(temp, O_WRONLY | O_CREAT | O_TRUNC);
  if (!fd) return fail(fd.error());
  auto written = write_all_at(fd->get(), data, 0);
  if (written) written = rename_file(temp, path);
  if (!written) ::unlink(temp.c_str());
  return written;
}

result<void> replace_file_durably(const std::filesystem::path& path, byte_view data, mode_t mode) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  ::unlink(temp.c_str());  // a leftover keeps its own mode through O_CREAT
  auto fd = open_file(temp, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (!fd) return fail(fd.error());
  auto written = write_all_at(fd->get(), data, 0);
  if (written) written = sync_data(fd->get());
  if (written) written = rename_file(temp, path);
  if (!written) {
    ::unlink(temp.c_str());
    return written;
  }
  return sync_directory(parent_directory(path));
}

result<bool> create_directory_durably(const std::filesystem::path& dir) {
  std::error_code ec;
  const bool created = std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ec);
  if (created) {
    if (auto ok = sync_directory(parent_directory(dir)); !ok) return fail(ok.error());
  }
  return created;
}

std::filesystem::path parent_directory(const std::filesystem::path& path) {
  std::filesystem::path p = path.has_filename() ? path : path.parent_path();
  p = p.parent_path();
  return p.empty() ? std::filesystem::path(".") : p;
}

result<void> rename_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (auto fault = injected_fault()) return fail(fault);
  if (::rename(from.c_str(), to.c_str()) != 0) return fail(last_system_error());
  return {};
}

result<void> remove_file(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail(last_system_error());
  return {};
}

}  // namespace shfn::storage
