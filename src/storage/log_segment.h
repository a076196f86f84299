#pragma once
// Internal to the log: the segment and index files of log.h's on-disk format (their constants,
// names and segment header), the checksum-verifying record reader, and log::segment, what the
// log keeps in memory about one segment file (its offsets, times, sparse index, descriptor).
// Shared by log.cc (append, sync, read, trim) and log_recovery.cc (open and recovery); nothing
// outside the log includes it. Same threads as the log: its users hold the log's mutex.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "storage/file.h"
#include "storage/log.h"

namespace shfn::storage {

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

std::string file_name(std::uint64_t base, std::string_view extension);
// The base offset of a "<20 digits><extension>" file name.
std::optional<std::uint64_t> parse_file_name(std::string_view name, std::string_view extension);

bytes encode_segment_header(std::uint64_t base);
bool segment_header_is_valid(byte_view header, std::uint64_t base);

// Writes zeros over [from, to).
result<void> write_zeros(int fd, std::uint64_t from, std::uint64_t to);
// Whether [from, to) of the file holds nothing but zeros.
result<bool> all_zeros(int fd, std::uint64_t from, std::uint64_t to);

struct record_view {
  std::uint64_t offset = 0;
  std::uint64_t publish_time = 0;
  byte_view data;
  std::uint64_t position = 0;  // of the record in its file
  std::uint64_t size = 0;      // of the whole record, length and crc fields included
};

// unwritten: zeros where a record would start, the space written ahead of the records.
enum class scan_status { record, end, unwritten, torn, corrupt };

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
  result<scan_status> next(record_view& out);

  // Where the next record starts: after a failed next(), where the damage starts.
  std::uint64_t position() const { return position_; }

 private:
  // The `n` bytes at position_, reading them in if needed; nullptr if the file ends first.
  result<const std::uint8_t*> fetch(std::size_t n);

  bytes own_buffer_;  // before buffer_, which may refer to it
  int fd_;
  std::uint64_t position_;
  std::uint64_t end_;
  bytes& buffer_;
  std::uint64_t buffer_position_ = 0;
  std::size_t buffered_ = 0;
};

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

  bytes encode_index() const;
  // Adopts the contents of an .idx file if it is intact and describes this segment file.
  bool adopt_index(byte_view file);
  bool points_are_plausible(const std::vector<point>& points, std::uint64_t end_offset) const;
};

struct log::pending_index {
  std::filesystem::path path;
  shfn::bytes contents;
};

}  // namespace shfn::storage
