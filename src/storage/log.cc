// The log once open (log.h): appends and the segments they create, roll and seal; sync and
// the indexes written after it; reads, lookups by time, trims; sealed segments' descriptors
// opened and closed; deleting a closed log. Opening and recovery are in log_recovery.cc.
#include "storage/log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "storage/encoding.h"
#include "storage/errc.h"
#include "storage/file.h"
#include "storage/log_segment.h"
#include "wire/crc32c.h"

namespace shfn::storage {

log::log(std::filesystem::path dir, log_options options)
    : dir_(std::move(dir)), options_(options) {}

log::~log() {
  // A closed log gives back the space written ahead, so that a broker holding many logs it
  // opens and closes (topics unloaded when idle) uses disk in proportion to their data. Not
  // synced: if the truncation is lost, recovery reads the zeros as the end, as ever.
  std::lock_guard lock(mutex_);
  if (!broken_ && !segments_.empty()) (void)seal(segments_.back());
}

result<void> log::create_segment(std::uint64_t base) {
  const auto path = dir_ / file_name(base, ".seg");
  auto fd = open_file(path, O_RDWR | O_CREAT | O_EXCL);
  if (!fd) return fail(fd.error());
  if (auto ok = write_all_at(fd->get(), encode_segment_header(base), 0); !ok) {
    (void)remove_file(path);
    return ok;
  }
  segments_.push_back({.base = base,
                       .end = base,
                       .file_bytes = segment_header_bytes,
                       .allocated = segment_header_bytes,
                       .file = std::make_shared<unique_fd>(std::move(*fd)),
                       .dirty = true});
  dir_dirty_ = true;
  return {};
}

result<void> log::roll() {
  // The sealed segment's index is written by the sync() that makes its data durable, so an
  // index on disk always describes data that is on disk.
  if (auto ok = seal(segments_.back()); !ok) return ok;
  return create_segment(segments_.back().end);
}

// Cuts the zeros written ahead off a segment that will take no more appends. Marked dirty: the
// next sync() makes the new size durable before the segment's index is written.
result<void> log::seal(segment& s) {
  if (s.allocated == s.file_bytes) return {};
  if (auto ok = truncate_file(s.file->get(), s.file_bytes); !ok) return ok;
  s.allocated = s.file_bytes;
  s.dirty = true;
  return {};
}

// Extends the active segment's file with zeros to hold at least `needed` bytes (within
// segment_bytes). Zeros beyond the records are harmless: recovery reads them as the end. A
// chunk is as large as the file already is, from 64 KiB up to preallocate_bytes, so that the
// log of a topic with little data takes little disk (thousands of topics are thousands of logs)
// while a busy one still extends its file rarely.
result<void> log::preallocate(segment& s, std::uint64_t needed) {
  if (options_.preallocate_bytes == 0 || needed <= s.allocated) return {};
  constexpr std::uint64_t first_chunk = 64 << 10;
  const std::uint64_t chunk = std::clamp(
      s.allocated, std::min(first_chunk, options_.preallocate_bytes), options_.preallocate_bytes);
  const std::uint64_t chunk_end = std::min(s.allocated + chunk, options_.segment_bytes);
  const std::uint64_t target = std::max(needed, chunk_end);
  const int fd = s.file->get();
  if (auto ok = write_zeros(fd, s.allocated, target); !ok) {
    // No room for a whole chunk (a nearly full disk): give back what was written, or the zeros
    // would take the space that other logs, and this one once space returns, need; then try for
    // just this record.
    (void)truncate_file(fd, s.allocated);
    if (target == needed) return ok;
    if (auto just = write_zeros(fd, s.allocated, needed); !just) {
      (void)truncate_file(fd, s.allocated);
      return just;
    }
    s.allocated = needed;
    return {};
  }
  s.allocated = target;
  return {};
}

result<std::uint64_t> log::append(byte_view data, std::uint64_t publish_time) {
  std::lock_guard lock(mutex_);
  if (broken_) return fail(broken_);
  if (data.size() > max_data_bytes) return fail(errc::entry_too_large);
  const std::uint64_t record_size = record_header_bytes + data.size();
  if (!segments_.back().empty() &&
      segments_.back().file_bytes + record_size > options_.segment_bytes) {
    if (auto ok = roll(); !ok) return fail(ok.error());
  }
  segment& active = segments_.back();
  if (auto ok = preallocate(active, active.file_bytes + record_size); !ok) return fail(ok.error());
  const std::uint64_t offset = active.end;
  std::array<std::uint8_t, record_header_bytes> head{};
  store_u32(head.data(), static_cast<std::uint32_t>(record_fixed_bytes + data.size()));
  store_u64(head.data() + 8, offset);
  store_u64(head.data() + 16, publish_time);
  store_u32(head.data() + 4, wire::crc32c(data, wire::crc32c(byte_view(head).subspan(8))));
  if (auto ok = write_all_at(active.file->get(), head, data, active.file_bytes); !ok) {
    // A partial record would hide every later one from recovery: cut it off (zeros where it
    // was, when preallocate() wrote space ahead covering it), or stop writing.
    const int fd = active.file->get();
    const auto undone = active.allocated > active.file_bytes
                            ? write_zeros(fd, active.file_bytes, active.file_bytes + record_size)
                            : truncate_file(fd, active.file_bytes);
    if (!undone) broken_ = ok.error();
    return fail(ok.error());
  }
  active.add(offset, publish_time, active.file_bytes, record_size);
  active.allocated = std::max(active.allocated, active.file_bytes);
  active.dirty = true;
  return offset;
}

result<std::uint64_t> log::sync() {
  std::lock_guard one_at_a_time(sync_mutex_);
  std::vector<std::shared_ptr<unique_fd>> files;
  bool sync_dir = false;
  std::uint64_t durable_end = 0;
  {
    std::lock_guard lock(mutex_);
    if (broken_) return fail(broken_);
    for (segment& s : segments_) {
      if (s.dirty) files.push_back(s.file);
      s.dirty = false;
    }
    sync_dir = std::exchange(dir_dirty_, false);
    durable_end = segments_.back().end;
  }
  auto synced = [&]() -> result<void> {
    for (const auto& file : files) {
      if (auto ok = sync_data(file->get()); !ok) return ok;
    }
    return sync_dir ? sync_directory(dir_) : result<void>{};
  }();
  if (!synced) {
    spdlog::error("log {}: sync failed, refusing further writes: {}", dir_.string(),
                  synced.error().message());
    std::lock_guard lock(mutex_);
    broken_ = synced.error();
    return fail(broken_);
  }
  for (const pending_index& index : collect_pending_indexes()) {
    // Only an optimisation for the next open, which rebuilds a missing index by scanning.
    if (auto ok = replace_file(index.path, index.contents); !ok) {
      spdlog::warn("log {}: could not write {}: {}", dir_.string(), index.path.string(),
                   ok.error().message());
    }
  }
  std::lock_guard lock(mutex_);
  close_idle_sealed();  // segments sealed before this sync need their files no longer
  return durable_end;
}

// Indexes of sealed segments whose data is durable (not dirty) and that have none on disk yet.
std::vector<log::pending_index> log::collect_pending_indexes() {
  std::vector<pending_index> pending;
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i + 1 < segments_.size(); ++i) {
    segment& s = segments_[i];
    if (s.dirty || s.indexed) continue;
    pending.push_back({dir_ / file_name(s.base, ".idx"), s.encode_index()});
    s.indexed = true;
  }
  return pending;
}

std::uint64_t log::start_offset() const {
  std::lock_guard lock(mutex_);
  return segments_.front().base;
}

std::uint64_t log::end_offset() const {
  std::lock_guard lock(mutex_);
  return segments_.back().end;
}

std::uint64_t log::size_bytes() const {
  std::lock_guard lock(mutex_);
  std::uint64_t total = 0;
  for (const segment& s : segments_) total += s.file_bytes;
  return total;
}

std::size_t log::open_files() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::ranges::count_if(segments_, [](const segment& s) { return s.file != nullptr; }));
}

result<int> log::descriptor(const segment& s) const {
  if (!s.file) {
    auto fd = open_file(dir_ / file_name(s.base, ".seg"), O_RDONLY);
    if (!fd) return fail(fd.error());
    s.file = std::make_shared<unique_fd>(std::move(*fd));
  }
  s.last_read = ++read_clock_;
  close_idle_sealed();
  return s.file->get();
}

// Past max_open_sealed, closes the files of the least recently read sealed segments; never the
// active segment's, nor one written since the last sync (sync() flushes it).
void log::close_idle_sealed() const {
  const std::size_t keep = std::max<std::size_t>(1, options_.max_open_sealed);
  for (;;) {
    std::size_t open = 0;
    const segment* oldest = nullptr;
    for (std::size_t i = 0; i + 1 < segments_.size(); ++i) {
      const segment& s = segments_[i];
      if (!s.file || s.dirty) continue;
      ++open;
      if (oldest == nullptr || s.last_read < oldest->last_read) oldest = &s;
    }
    if (open <= keep) return;
    oldest->file.reset();
  }
}

std::size_t log::segment_holding(std::uint64_t offset) const {
  auto after = std::upper_bound(segments_.begin(), segments_.end(), offset,
                                [](std::uint64_t o, const segment& s) { return o < s.base; });
  return after == segments_.begin() ? 0 : static_cast<std::size_t>(after - segments_.begin()) - 1;
}

result<std::vector<entry>> log::read(std::uint64_t from, std::size_t max_entries,
                                     std::size_t max_bytes) const {
  std::lock_guard lock(mutex_);
  std::vector<entry> out;
  from = std::max(from, segments_.front().base);
  if (from >= segments_.back().end) return out;
  std::size_t data_bytes = 0;
  for (std::size_t i = segment_holding(from); i < segments_.size(); ++i) {
    const segment& s = segments_[i];
    const segment::point start = s.seek_point(from);
    auto fd = descriptor(s);
    if (!fd) return fail(fd.error());
    record_reader reader(*fd, start.position, s.file_bytes, read_buffer_);
    record_view rec;
    for (std::uint64_t expected = start.offset; out.size() < max_entries; ++expected) {
      auto status = reader.next(rec);
      if (!status) return fail(status.error());
      if (*status == scan_status::end) break;
      if (*status != scan_status::record || rec.offset != expected) {
        spdlog::error("log {}: segment {} is corrupt at offset {} (file position {})",
                      dir_.string(), s.base, expected, reader.position());
        return fail(errc::corrupt_record);
      }
      if (rec.offset < from) continue;
      if (!out.empty() && data_bytes + rec.data.size() > max_bytes) return out;
      data_bytes += rec.data.size();
      out.push_back({rec.offset, rec.publish_time, bytes(rec.data.begin(), rec.data.end())});
    }
    if (out.size() == max_entries) break;
  }
  return out;
}

result<std::uint64_t> log::find_by_time(std::uint64_t t) const {
  std::lock_guard lock(mutex_);
  for (const segment& s : segments_) {
    if (s.empty() || s.max_time < t) continue;
    if (s.min_time >= t) return s.base;
    // Publish times need not be monotonic, so the answer is the first match in this segment.
    auto fd = descriptor(s);
    if (!fd) return fail(fd.error());
    record_reader reader(*fd, segment_header_bytes, s.file_bytes);
    record_view rec;
    for (std::uint64_t expected = s.base;; ++expected) {
      auto status = reader.next(rec);
      if (!status) return fail(status.error());
      if (*status != scan_status::record || rec.offset != expected) {
        return fail(errc::corrupt_record);  // max_time promised a match before the end
      }
      if (rec.publish_time >= t) return rec.offset;
    }
  }
  return segments_.back().end;
}

result<std::uint64_t> log::trim(std::uint64_t offset, std::uint64_t older_than,
                                std::uint64_t keep_bytes) {
  std::lock_guard lock(mutex_);
  std::uint64_t held = 0;
  for (const segment& s : segments_) held += s.file_bytes;
  std::uint64_t freed = 0;
  while (segments_.size() > 1) {
    const segment& oldest = segments_.front();
    const bool over_size = held - freed > keep_bytes;
    if (oldest.end > offset || (oldest.max_time > older_than && !over_size)) break;
    // The segment first: an index left without one is deleted on open, while a segment left
    // without its index would simply be rescanned.
    if (auto ok = remove_file(dir_ / file_name(oldest.base, ".seg")); !ok) return fail(ok.error());
    (void)remove_file(dir_ / file_name(oldest.base, ".idx"));
    freed += oldest.file_bytes;
    segments_.erase(segments_.begin());
    dir_dirty_ = true;
  }
  return freed;
}

result<void> log::remove(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    if (ec) return fail(ec);
    return {};
  }
  for (const auto& file : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = file.path().filename().string();
    if (!parse_file_name(name, ".seg") && !parse_file_name(name, ".idx") &&
        !name.ends_with(".tmp")) {
      return fail(errc::not_a_log_directory);
    }
  }
  if (ec) return fail(ec);
  std::filesystem::remove_all(dir, ec);
  if (ec) return fail(ec);
  return sync_directory(parent_directory(dir));
}

}  // namespace shfn::storage
