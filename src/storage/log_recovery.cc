// Opening a log: listing its directory, loading its segments and recovering them as log.h's
// "Recovery on open" describes (scans, cut tails, dropped segments).
#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "storage/errc.h"
#include "storage/file.h"
#include "storage/log.h"
#include "storage/log_segment.h"

namespace shfn::storage {
namespace {

struct directory_listing {
  std::vector<std::uint64_t> segment_bases;  // sorted
  std::vector<std::uint64_t> index_bases;
};

// Lists a log directory, deleting leftover temp files on the way.
result<directory_listing> list_log_directory(const std::filesystem::path& dir) {
  directory_listing listing;
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = file.path().filename().string();
    if (name.ends_with(".tmp")) {
      if (auto ok = remove_file(file.path()); !ok) return fail(ok.error());
    } else if (auto base = parse_file_name(name, ".seg")) {
      listing.segment_bases.push_back(*base);
    } else if (auto indexed = parse_file_name(name, ".idx")) {
      listing.index_bases.push_back(*indexed);
    }
  }
  if (ec) return fail(ec);
  std::sort(listing.segment_bases.begin(), listing.segment_bases.end());
  return listing;
}

}  // namespace

result<std::unique_ptr<log>> log::open(const std::filesystem::path& dir, log_options options) {
  if (auto created = create_directory_durably(dir); !created) return fail(created.error());
  auto listing = list_log_directory(dir);
  if (!listing) return fail(listing.error());
  // An index whose segment is gone is left from an interrupted trim.
  for (std::uint64_t base : listing->index_bases) {
    if (!std::binary_search(listing->segment_bases.begin(), listing->segment_bases.end(), base)) {
      if (auto ok = remove_file(dir / file_name(base, ".idx")); !ok) return fail(ok.error());
    }
  }
  std::unique_ptr<log> opened(new log(dir, options));
  if (auto ok = opened->load(std::move(listing->segment_bases)); !ok) return fail(ok.error());
  return opened;
}

result<void> log::load(std::vector<std::uint64_t> bases) {
  if (bases.empty()) return create_segment(0);
  for (std::uint64_t base : bases) {
    auto fd = open_file(dir_ / file_name(base, ".seg"), O_RDWR);
    if (!fd) return fail(fd.error());
    segments_.push_back({.base = base, .file = std::make_shared<unique_fd>(std::move(*fd))});
  }
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const bool active = i + 1 == segments_.size();
    auto intact = active ? recover(segments_[i], true) : load_sealed(segments_[i]);
    if (!intact) return fail(intact.error());
    if (!*intact) break;  // recover() has cut the log there
  }
  drop_segments_before_gap();
  close_idle_sealed();
  return {};
}

result<bool> log::load_sealed(segment& s) {
  auto size = file_size(s.file->get());
  if (!size) return fail(size.error());
  s.file_bytes = *size;
  s.allocated = *size;
  std::array<std::uint8_t, segment_header_bytes> header{};
  auto got = read_at(s.file->get(), header, 0);
  if (!got) return fail(got.error());
  if (!segment_header_is_valid(byte_view(header).first(*got), s.base)) {
    spdlog::error("log {}: segment {} has a bad header", dir_.string(), s.base);
    return fail(errc::bad_segment_header);
  }
  const auto path = dir_ / file_name(s.base, ".idx");
  auto fd = open_file(path, O_RDONLY);
  if (fd) {
    auto index_size = file_size(fd->get());
    if (index_size && *index_size <= max_index_file_bytes) {
      bytes contents(*index_size);
      auto read = read_at(fd->get(), contents, 0);
      if (read && *read == contents.size() && s.adopt_index(contents)) return true;
    }
    spdlog::warn("log {}: index of segment {} is damaged or stale; rebuilding it", dir_.string(),
                 s.base);
  } else if (fd.error() == std::errc::no_such_file_or_directory) {
    spdlog::debug("log {}: segment {} has no index yet; scanning it", dir_.string(), s.base);
  } else {
    return fail(fd.error());
  }
  return recover(s, false);
}

// Scans a segment, verifying every record and rebuilding its in-memory index. Cuts a damaged
// tail off; for a sealed segment that also means deleting every later segment. Returns whether
// the segment was intact.
result<bool> log::recover(segment& s, bool active) {
  const int fd = s.file->get();
  auto size = file_size(fd);
  if (!size) return fail(size.error());
  s.forget_records();
  s.allocated = *size;
  s.dirty = true;  // what we read may only be in the page cache: the next sync() flushes it
  if (*size < segment_header_bytes && active) {
    // A crash while rolling, between creating the file and writing its header.
    spdlog::warn("log {}: re-initialising segment {} (header incomplete)", dir_.string(), s.base);
    if (auto ok = truncate_file(fd, 0); !ok) return fail(ok.error());
    if (auto ok = write_all_at(fd, encode_segment_header(s.base), 0); !ok) return fail(ok.error());
    s.allocated = segment_header_bytes;
    return true;
  }
  std::array<std::uint8_t, segment_header_bytes> header{};
  auto got = read_at(fd, header, 0);
  if (!got) return fail(got.error());
  if (!segment_header_is_valid(byte_view(header).first(*got), s.base)) {
    spdlog::error("log {}: segment {} has a bad header", dir_.string(), s.base);
    return fail(errc::bad_segment_header);
  }
  record_reader reader(fd, segment_header_bytes, *size);
  record_view rec;
  for (;;) {
    auto status = reader.next(rec);
    if (!status) return fail(status.error());
    if (*status == scan_status::end) return true;
    if (*status == scan_status::unwritten) {
      auto cut = cut_unwritten_tail(s, active, *size);
      if (!cut) return fail(cut.error());
      if (*cut) return true;
      break;  // a sealed segment that stops short of the next one: damaged
    }
    if (*status != scan_status::record || rec.offset != s.end) break;
    s.add(rec.offset, rec.publish_time, rec.position, rec.size);
  }
  const std::uint64_t cut_at = s.file_bytes;  // the end of the last good record
  if (active) {
    spdlog::warn("log {}: dropping {} bytes of torn or corrupt records from offset {} on",
                 dir_.string(), *size - cut_at, s.end);
  } else {
    spdlog::error(
        "log {}: sealed segment {} is damaged at offset {}; dropping {} bytes from there and "
        "every later segment",
        dir_.string(), s.base, s.end, *size - cut_at);
    // Later segments go first: if we crash midway, a rescan finds the same damage again.
    if (auto ok = drop_segments_after(static_cast<std::size_t>(&s - segments_.data())); !ok) {
      return fail(ok.error());
    }
  }
  if (auto ok = truncate_file(fd, cut_at); !ok) return fail(ok.error());
  s.allocated = cut_at;
  return false;
}

// The records of `s` end at s.file_bytes, where zeros start. The rest of the file is cut off, so
// that neither a later scan nor a later append meets whatever it holds. False (and nothing cut)
// for a sealed segment whose records do not reach the next segment: that is damage.
result<bool> log::cut_unwritten_tail(segment& s, bool active, std::uint64_t file_size) {
  const int fd = s.file->get();
  if (!active) {
    const auto next = static_cast<std::size_t>(&s - segments_.data()) + 1;
    if (next >= segments_.size() || segments_[next].base != s.end) return false;
  }
  auto zeros_only = all_zeros(fd, s.file_bytes, file_size);
  if (!zeros_only) return fail(zeros_only.error());
  if (!*zeros_only) {
    // Pages written after one that a machine crash lost: never durable, so never acknowledged.
    spdlog::warn("log {}: dropping {} bytes after a gap in segment {} at offset {}", dir_.string(),
                 file_size - s.file_bytes, s.base, s.end);
  }
  if (auto ok = truncate_file(fd, s.file_bytes); !ok) return fail(ok.error());
  s.allocated = s.file_bytes;
  return true;
}

result<void> log::drop_segments_after(std::size_t index) {
  while (segments_.size() > index + 1) {
    const std::uint64_t base = segments_.back().base;
    if (auto ok = remove_file(dir_ / file_name(base, ".seg")); !ok) return ok;
    if (auto ok = remove_file(dir_ / file_name(base, ".idx")); !ok) return ok;
    segments_.pop_back();
  }
  return sync_directory(dir_);
}

void log::drop_segments_before_gap() {
  std::size_t first_kept = 0;
  for (std::size_t i = 1; i < segments_.size(); ++i) {
    if (segments_[i - 1].end != segments_[i].base) first_kept = i;
  }
  if (first_kept == 0) return;
  spdlog::warn("log {}: offsets jump from {} to {}; dropping the {} segment(s) before the jump",
               dir_.string(), segments_[first_kept - 1].end, segments_[first_kept].base,
               first_kept);
  for (std::size_t i = 0; i < first_kept; ++i) {
    // Failing to delete only leaves a file the next open drops again.
    (void)remove_file(dir_ / file_name(segments_[i].base, ".seg"));
    (void)remove_file(dir_ / file_name(segments_[i].base, ".idx"));
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(first_kept));
  dir_dirty_ = true;
}

}  // namespace shfn::storage
