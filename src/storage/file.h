#pragma once
// POSIX file helpers shared by the log, the cursors and the directory lock: an owning fd and
// whole-buffer reads/writes/syncs that retry EINTR and short transfers and report errno as a
// std::system_category() error_code.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <utility>

#include "base/bytes.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace shfn::storage {

// The calling thread's errno as an error_code.
std::error_code last_system_error();

using shfn::unique_fd;

// open(2) with O_CLOEXEC added, so that processes the runtime spawns never inherit our files.
result<unique_fd> open_file(const std::filesystem::path& path, int flags, mode_t mode = 0644);

result<void> write_all_at(int fd, byte_view data, std::uint64_t position);
// Writes `head` then `body` contiguously with pwritev, so a record needs no copy into one buffer.
result<void> write_all_at(int fd, byte_view head, byte_view body, std::uint64_t position);
// Reads until `out` is full or the file ends; returns how many bytes were read.
result<std::size_t> read_at(int fd, std::span<std::uint8_t> out, std::uint64_t position);
result<std::uint64_t> file_size(int fd);
result<void> truncate_file(int fd, std::uint64_t size);
result<void> sync_data(int fd);

// fsync of a directory, which makes creations, renames and deletions inside it durable.
result<void> sync_directory(const std::filesystem::path& dir);

// Replaces `path` by a file holding exactly `data`: written to "<path>.tmp", then renamed over,
// so a reader never sees a half-written file. Not fsynced: for files that can be rebuilt.
result<void> replace_file(const std::filesystem::path& path, byte_view data);
// The same, durably: the new file is fdatasynced before the rename and the rename made durable
// by an fsync of the directory, so after a crash the path holds the old contents or the new,
// never an empty or partial file; `mode` is the new file's (less the umask). On failure the
// temporary file is removed.
result<void> replace_file_durably(const std::filesystem::path& path, byte_view data,
                                  mode_t mode = 0644);

// Creates `dir` (and missing parents) if needed; when it was created, fsyncs its parent so the
// new directory entry is durable too. Returns whether it was created.
result<bool> create_directory_durably(const std::filesystem::path& dir);

// The directory holding `path`, which may end in a slash or have no parent part.
std::filesystem::path parent_directory(const std::filesystem::path& path);

// unlink(2) that treats a missing file as success.
result<void> remove_file(const std::filesystem::path& path);
// rename(2): `from` takes the place of `to`, atomically.
result<void> rename_file(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace shfn::storage
