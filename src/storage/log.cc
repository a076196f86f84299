#include "storage/log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <string_view>

#include "storage/encoding.h"
#include "storage/errc.h"
#include "storage/file.h"
#include "wire/crc32c.h"

namespace shfn::storage {
namespace {

constexpr std::string_view segment_magic = "SHFNSEG1";
constexpr std::string_view index_magic = "SHFNIDX1";
constexpr std::uint32_t format_version = 1;
constexpr std::uint64_t segment_header_bytes = 24;
constexpr std::uint32_t record_fixed_bytes = 16;  // offset + publish time, under the crc
constexpr std::size_t record_header_bytes = 8 + record_fixed_bytes;
constexpr std::size_t max_data_bytes = UINT32_MAX - record_fixed_bytes;
constexpr std::uint64_t index_interval_bytes = 4096;
constexpr std::size_t read_chunk_bytes = 64 << 10;
constexpr std::size_t zero_chunk_bytes = 64 << 10;
// Far above any real index (16 bytes per 4 KiB of segment); guards against reading junk.
constexpr std::uint64_t max_index_file_bytes = 256ull << 20;

std::string file_name(std::uint64_t base, std::string_view extension) {
  return fmt::format("{:020}{}", base, extension);
}

// The base offset of a "<20 digits><extension>" file name.
std::optional<std::uint64_t> parse_file_name(std::string_view name, std::string_view extension) {
  if (name.size() != 20 + extension.size() || !name.ends_with(extension)) return std::nullopt;
  std::uint64_t base = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + 20, base);
  if (ec != std::errc() || end != name.data() + 20) return std::nullopt;
  return base;
}

bytes encode_segment_header(std::uint64_t base) {
  bytes out = bytes(segment_magic.begin(), segment_magic.end());
  put_u32(out, format_version);
  put_u64(out, base);
  put_u32(out, wire::crc32c(out));
  return out;
}

bool segment_header_is_valid(byte_view header, std::uint64_t base) {
  return header.size() == segment_header_bytes &&
         std::equal(segment_magic.begin(), segment_magic.end(), header.begin()) &&
         load_u32(header.data() + 8) == format_version && load_u64(header.data() + 12) == base &&
         load_u32(header.data() + 20) == wire::crc32c(header.first(20));
}

struct record_view {
  std::uint64_t offset = 0;
  std::uint64_t publish_time = 0;
  byte_view data;
  std::uint64_t position = 0;  // of the record in its file
  std::uint64_t size = 0;      // of the whole record, length and crc fields included
};

// unwritten: zeros where a record would start, the space written ahead of the records.
enum class scan_status { record, end, unwritten, torn, corrupt };

const std::array<std::uint8_t, zero_chunk_bytes>& zeros() {
  static const std::array<std::uint8_t, zero_chunk_bytes> chunk{};
  return chunk;
}

// Writes zeros over [from, to).
result<void> write_zeros(int fd, std::uint64_t from, std::uint64_t to) {
  while (from < to) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(to - from, zero_chunk_bytes));
    if (auto ok = write_all_at(fd, byte_view(zeros()).first(n), from); !ok) return ok;
    from += n;
  }
  return {};
}

// Whether [from, to) of the file holds nothing but zeros.
result<bool> all_zeros(int fd, std::uint64_t from, std::uint64_t to) {
  std::array<std::uint8_t, zero_chunk_bytes> chunk{};
  while (from < to) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(to - from, chunk.size()));
    auto got = read_at(fd, std::span<std::uint8_t>(chunk.data(), n), from);
    if (!got) return fail(got.error());
    if (*got == 0) return true;  // the file is shorter than we were told
    if (std::memcmp(chunk.data(), zeros().data(), *got) != 0) return false;
    from += *got;
  }
  return true;
}

// Sequential, checksum-verifying reader of a segment's records between two file positions. It
// reads ahead in chunks so that small records don't cost one pread each.
class record_reader {
 public:
  record_reader(int fd, std::uint64_t position, std::uint64_t end)
      : record_reader(fd, position, end, own_buffer_) {}
  // Reads into `buffer`, which it only ever grows: a caller that keeps it between readers does
  // not pay for allocating and zero-filling it every time.
  record_reader(int fd, std::uint64_t position, std::uint64_t end, bytes& buffer)
      : fd_(fd), position_(position), end_(end), buffer_(buffer) {}
  record_reader(const record_reader&) = delete;
  record_reader& operator=(const record_reader&) = delete;

  // On scan_status::record, `out` views an internal buffer until the next call.
  result<scan_status> next(record_view& out) {
    if (position_ >= end_) return scan_status::end;
    auto head = fetch(8);
    if (!head) return fail(head.error());
    if (*head == nullptr) return scan_status::torn;
    const std::uint32_t length = load_u32(*head);
    const std::uint32_t crc = load_u32(*head + 4);
    if (length == 0 && crc == 0) return scan_status::unwritten;
    if (length < record_fixed_bytes) return scan_status::corrupt;
    if (length > end_ - position_ - 8) return scan_status::torn;
    auto whole = fetch(8 + std::size_t{length});
    if (!whole) return fail(whole.error());
    if (*whole == nullptr) return scan_status::torn;
    const byte_view body(*whole + 8, length);
    if (wire::crc32c(body) != crc) return scan_status::corrupt;
    out = {.offset = load_u64(body.data()),
           .publish_time = load_u64(body.data() + 8),
           .data = body.subspan(record_fixed_bytes),
           .position = position_,
           .size = 8 + std::uint64_t{length}};
    position_ += out.size;
    return scan_status::record;
  }

  // Where the next record starts: after a failed next(), where the damage starts.
  std::uint64_t position() const { return position_; }

 private:
  // The `n` bytes at position_, reading them in if needed; nullptr if the file ends first.
  result<const std::uint8_t*> fetch(std::size_t n) {
    if (position_ >= buffer_position_ && position_ + n <= buffer_position_ + buffered_) {
      return buffer_.data() + (position_ - buffer_position_);
    }
    if (n > end_ - position_) return nullptr;
    const auto want = static_cast<std::size_t>(
        std::max<std::uint64_t>(n, std::min<std::uint64_t>(read_chunk_bytes, end_ - position_)));
    if (buffer_.size() < want) buffer_.resize(want);
    // What is already buffered from position_ on (the start of a record larger than the
    // read-ahead) moves to the front instead of being read again.
    std::size_t kept = 0;
    if (position_ >= buffer_position_ && position_ < buffer_position_ + buffered_) {
      kept = static_cast<std::size_t>(buffer_position_ + buffered_ - position_);
      std::memmove(buffer_.data(), buffer_.data() + (position_ - buffer_position_), kept);
    }
    auto got =
        read_at(fd_, std::span<std::uint8_t>(buffer_.data() + kept, want - kept), position_ + kept);
    if (!got) return fail(got.error());
    buffer_position_ = position_;
    buffered_ = kept + *got;
    if (buffered_ < n) return nullptr;  // the file is shorter than we were told
    return buffer_.data();
  }

  bytes own_buffer_;  // before buffer_, which may refer to it
  int fd_;
  std::uint64_t position_;
  std::uint64_t end_;
  bytes& buffer_;
  std::uint64_t buffer_position_ = 0;
  std::size_t buffered_ = 0;
};

}  // namespace

struct log::segment {
  struct point {
    std::uint64_t offset = 0;
    std::uint64_t position = 0;
  };

  std::uint64_t base = 0;
  std::uint64_t end = 0;         // the offset after its last record
  std::uint64_t file_bytes = 0;  // up to the end of the last record, header included
  std::uint64_t allocated = 0;   // the file's size: file_bytes, then zeros written ahead
  std::uint64_t min_time = UINT64_MAX;
  std::uint64_t max_time = 0;
  std::vector<point> index;  // sparse; index[0] is the first record
  // Shared so that sync() can fdatasync it outside the lock while trim() drops the segment, or
  // close_idle_sealed() closes it. Null: a sealed segment's file, closed (see descriptor()).
  mutable std::shared_ptr<unique_fd> file;
  mutable std::uint64_t last_read = 0;  // for closing the least recently read first
  bool dirty = false;                   // written (or recovered) since the last sync
  bool indexed = false;                 // its .idx is on disk

  bool empty() const { return end == base; }

  void forget_records() {
    end = base;
    file_bytes = segment_header_bytes;
    min_time = UINT64_MAX;
    max_time = 0;
    index.clear();
  }

  void add(std::uint64_t offset, std::uint64_t publish_time, std::uint64_t position,
           std::uint64_t size) {
    if (index.empty() || position - index.back().position >= index_interval_bytes) {
      index.push_back({offset, position});
    }
    end = offset + 1;
    file_bytes = position + size;
    min_time = std::min(min_time, publish_time);
    max_time = std::max(max_time, publish_time);
  }

  // Where to start reading to reach `offset`: the last index point at or before it.
  point seek_point(std::uint64_t offset) const {
    auto after = std::upper_bound(index.begin(), index.end(), offset,
                                  [](std::uint64_t o, const point& p) { return o < p.offset; });
    if (after == index.begin()) return {base, segment_header_bytes};
    return *std::prev(after);
  }

  bytes encode_index() const {
    bytes out(index_magic.begin(), index_magic.end());
    put_u32(out, format_version);
    put_u64(out, base);
    put_u64(out, end - base);
    put_u64(out, file_bytes);
    put_u64(out, min_time);
    put_u64(out, max_time);
    put_u32(out, static_cast<std::uint32_t>(index.size()));
    for (const point& p : index) {
      put_u64(out, p.offset);
      put_u64(out, p.position);
    }
    put_u32(out, wire::crc32c(out));
    return out;
  }

  // Adopts the contents of an .idx file if it is intact and describes this segment file.
  bool adopt_index(byte_view file) {
    if (file.size() < 4 ||
        load_u32(file.data() + file.size() - 4) != wire::crc32c(file.first(file.size() - 4))) {
      return false;
    }
    byte_reader in(file.first(file.size() - 4));
    byte_view magic;
    std::uint32_t version = 0, points = 0;
    std::uint64_t file_base = 0, count = 0, size_on_disk = 0, min = 0, max = 0;
    if (!in.read_span(8, magic) || !std::equal(magic.begin(), magic.end(), index_magic.begin()) ||
        !in.read_u32(version) || version != format_version || !read_u64(in, file_base) ||
        !read_u64(in, count) || !read_u64(in, size_on_disk) || !read_u64(in, min) ||
        !read_u64(in, max) || !in.read_u32(points) || in.remaining() != points * 16ull) {
      return false;
    }
    if (file_base != base || size_on_disk != file_bytes || count == 0 || min > max) return false;
    std::vector<point> loaded(points);
    for (point& p : loaded) {
      read_u64(in, p.offset);
      read_u64(in, p.position);
    }
    if (!points_are_plausible(loaded, base + count)) return false;
    index = std::move(loaded);
    end = base + count;
    min_time = min;
    max_time = max;
    indexed = true;
    return true;
  }

  bool points_are_plausible(const std::vector<point>& points, std::uint64_t end_offset) const {
    if (points.empty() || points[0].offset != base || points[0].position != segment_header_bytes) {
      return false;
    }
    for (std::size_t i = 1; i < points.size(); ++i) {
      if (points[i].offset <= points[i - 1].offset ||
          points[i].position <= points[i - 1].position) {
        return false;
      }
    }
    return points.back().offset < end_offset && points.back().position < file_bytes;
  }
};

struct log::pending_index {
  std::filesystem::path path;
  shfn::bytes contents;
};

log::log(std::filesystem::path dir, log_options options)
    : dir_(std::move(dir)), options_(options) {}

log::~log() {
  // A closed log gives back the space written ahead, so that a broker holding many logs it
  // opens and closes (topics unloaded when idle) uses disk in proportion to their data. Not
  // synced: if the truncation is lost, recovery reads the zeros as the end, as ever.
  std::lock_guard lock(mutex_);
  if (!broken_ && !segments_.empty()) (void)seal(segments_.back());
}

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

result<std::uint64_t> log::trim(std::uint64_t offset, std::uint64_t older_than) {
  std::lock_guard lock(mutex_);
  std::uint64_t freed = 0;
  while (segments_.size() > 1) {
    const segment& oldest = segments_.front();
    if (oldest.end > offset || oldest.max_time > older_than) break;
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
