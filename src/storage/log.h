#pragma once
// The durable, append-only message log of one topic (partition): dense offsets from 0, kept in
// segment files, every record checksummed.
//
// Threads and ownership: a log is owned by its topic, which appends, reads and trims on the
// broker's I/O thread; sync() may be called from another thread (the syncer). All methods are
// thread-safe (one mutex); sync() holds it only to collect what to flush, never across the
// fdatasync, so appends continue while a sync is in flight.
//
// Durability: append() write(2)s into the page cache, so a record survives the process being
// killed as soon as append() returns, and a machine crash once a later sync() has returned.
// A failed write is undone (the partial record truncated away) and only that append fails. If
// an fdatasync fails, or a write cannot be undone, the log refuses further appends and syncs
// with that error (after a failed fdatasync the kernel may have dropped the dirty pages;
// retrying would lie).
// read() sees every appended record, durable or not: to hand out only what would survive a
// machine crash, read below the offset the last sync() returned.
//
// ---------------------------------------------------------------------------------------------
// On-disk format, version 1. All integers big-endian. CRC is CRC32C (Castagnoli).
//
// DIR/<base>.seg   one segment; <base> = its first offset as 20 decimal digits, zero-padded
//                  (e.g. 00000000000000000042.seg), so names sort in offset order.
//   header, 24 bytes:
//     [8]  magic "SHFNSEG1"
//     [4]  u32 format version = 1
//     [8]  u64 base offset (must equal the file name)
//     [4]  u32 crc32c of the 20 bytes above
//   then records, back to back, offsets dense and increasing (the first one is <base>):
//     [4]  u32 length of what follows the crc field (= 16 + data size)
//     [4]  u32 crc32c over those `length` bytes
//     [8]  u64 offset
//     [8]  u64 publish time, as given to append() (Pulsar's: ms since the epoch)
//     [..] data
//   A record whose length runs past the end of the file is torn; one whose crc fails, whose
//   length is < 16, or whose offset is not the previous offset + 1 is corrupt.
//   The active segment may end in zeros after its last record: space written ahead (see
//   log_options::preallocate_bytes). A length and crc of 0 where a record would start mark the
//   end of the records ("unwritten").
//
// DIR/<base>.idx   index of a sealed (no longer appended to) segment, written once its data is
//                  durable (by the sync() after it was sealed), via a temp file and rename:
//     [8]  magic "SHFNIDX1"
//     [4]  u32 format version = 1
//     [8]  u64 base offset
//     [8]  u64 entry count (the segment holds offsets base .. base + count - 1)
//     [8]  u64 size of the .seg file in bytes, header included
//     [8]  u64 min publish time      [8]  u64 max publish time
//     [4]  u32 n, then n x ([8] u64 offset, [8] u64 file position of that offset's record):
//          a sparse index, one point at the first record and then one per ~4 KiB of records
//     [4]  u32 crc32c of everything above
//   An index that is missing, fails its crc, or disagrees with its segment (base, size) is
//   rebuilt by scanning the segment.
//
// Every log has at least one segment; the last one is the active segment that appends go to.
// A new log is one empty active segment, 00000000000000000000.seg. A segment is rolled (sealed,
// and a new active one created at the next offset) before an append that would take it past
// segment_bytes, unless it is empty, so a single record larger than that gets its own segment.
// Sealing cuts the zeros written ahead off, so a sealed segment ends with its last record once
// the sync that follows has returned.
// "*.tmp" files are leftovers of interrupted index writes and are deleted on open.
//
// Recovery on open:
//  - the active segment is scanned and verified record by record; a torn or corrupt tail is
//    truncated away (logged at warn: bytes dropped and from which offset). So is what follows
//    the first unwritten record: quietly when it is all zeros; at warn when it is not (records
//    written after a page that a machine crash lost, which were never durable and which a later
//    append must not bring back by lining up with them). An active segment shorter than its
//    header (a crash while rolling) is re-initialised.
//  - a sealed segment without a valid index is scanned the same way. Zeros after its last
//    record are a seal whose truncation was not yet durable: cut off quietly when the records
//    reach the next segment's base. Otherwise, if it turns out damaged, nothing after the
//    damage can be trusted to be contiguous: it is truncated there and the segments after it
//    are deleted (logged at error).
//  - a gap between segments (a trim that was only partly persisted) drops the segments before
//    the gap (logged at warn): offsets always remain dense from start_offset().
//  - a segment header that is complete but wrong fails open() with errc::bad_segment_header.
// ---------------------------------------------------------------------------------------------

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace shfn::storage {

struct log_options {
  std::uint64_t segment_bytes = 64ull << 20;
  // The active segment's file is extended with written zeros up to this much at a time (as much
  // as it already holds, from 64 KiB; capped by segment_bytes), so that an append overwrites
  // space the file already has: its fdatasync then flushes the data alone, without the inode
  // (file size) and, on journalling file systems, without a journal commit. 0: every append
  // extends the file.
  std::uint64_t preallocate_bytes = 1ull << 20;
  // Sealed segments keep their files open only while read recently: at most this many per log
  // (at least 1), the least recently read closed first and opened again when read, so that a
  // log with much data holds few descriptors. The active segment's file is always open, and so
  // is a sealed one's until the sync after its last write.
  std::size_t max_open_sealed = 4;
};

struct entry {
  std::uint64_t offset = 0;
  std::uint64_t publish_time = 0;
  bytes data;
};

class log {
 public:
  // Opens or creates the log in `dir` (created if missing), recovering as described above.
  // The caller holds the directory (see dir_lock); two open logs on one directory corrupt it.
  [[nodiscard]] static result<std::unique_ptr<log>> open(const std::filesystem::path& dir,
                                                         log_options options = {});
  log(const log&) = delete;
  log& operator=(const log&) = delete;
  // Cuts the space written ahead off the active segment (see log_options::preallocate_bytes).
  ~log();

  // Appends one record to the active segment (rolling first if needed); returns its offset.
  [[nodiscard]] result<std::uint64_t> append(byte_view data, std::uint64_t publish_time);

  // fdatasyncs every segment written since the last sync (and fsyncs the directory when files
  // were created or deleted), then writes the indexes of segments sealed since. Returns the end
  // offset that is now durable: every offset below it survives a machine crash.
  [[nodiscard]] result<std::uint64_t> sync();

  std::uint64_t start_offset() const;  // first readable offset; moves up when trim() deletes
  std::uint64_t end_offset() const;    // the offset the next append() gets

  // Entries from max(from, start_offset()): at most max_entries, and stopping before the data
  // would exceed max_bytes, except that the first entry is always returned whole. Empty when
  // from >= end_offset() or max_entries == 0. Every record read is verified (errc::corrupt_record).
  [[nodiscard]] result<std::vector<entry>> read(std::uint64_t from, std::size_t max_entries,
                                                std::size_t max_bytes) const;

  // The first (lowest) offset whose publish_time >= t, or end_offset() if there is none.
  [[nodiscard]] result<std::uint64_t> find_by_time(std::uint64_t t) const;

  // Deletes the oldest sealed segments whose every entry is < `offset` and that are either old
  // (newest publish time <= `older_than`; UINT64_MAX: any age) or beyond the size kept (the log
  // holds more than `keep_bytes` with them), stopping at the first that doesn't qualify; never
  // the active segment. Returns the bytes freed.
  [[nodiscard]] result<std::uint64_t> trim(std::uint64_t offset, std::uint64_t older_than,
                                           std::uint64_t keep_bytes = UINT64_MAX);

  std::uint64_t size_bytes() const;  // of all segment files
  std::size_t open_files() const;    // descriptors held: the active segment and open sealed ones

  // Deletes a closed log's directory. Refuses (errc::not_a_log_directory) when it holds files a
  // log doesn't write, so a wrong path never wipes something else. A missing directory is fine.
  [[nodiscard]] static result<void> remove(const std::filesystem::path& dir);

 private:
  struct segment;
  struct pending_index;

  log(std::filesystem::path dir, log_options options);

  result<void> load(std::vector<std::uint64_t> bases);
  result<bool> load_sealed(segment& s);
  result<bool> recover(segment& s, bool active);
  result<bool> cut_unwritten_tail(segment& s, bool active, std::uint64_t file_size);
  result<void> preallocate(segment& s, std::uint64_t needed);
  result<void> seal(segment& s);
  result<void> drop_segments_after(std::size_t index);
  void drop_segments_before_gap();
  result<void> create_segment(std::uint64_t base);
  result<void> roll();
  std::size_t segment_holding(std::uint64_t offset) const;
  // The segment's descriptor, opening a sealed segment's file again if it was closed.
  result<int> descriptor(const segment& s) const;
  void close_idle_sealed() const;
  std::vector<pending_index> collect_pending_indexes();

  const std::filesystem::path dir_;
  const log_options options_;

  std::mutex sync_mutex_;  // one sync() at a time, so the offset it returns is really durable
  mutable std::mutex mutex_;
  std::vector<segment> segments_;         // by base offset; never empty; back() is active
  bool dir_dirty_ = false;                // files created or deleted since the last directory fsync
  mutable bytes read_buffer_;             // read()'s read-ahead (under mutex_), kept between reads
  mutable std::uint64_t read_clock_ = 0;  // orders the sealed segments' reads (under mutex_)
  std::error_code broken_;  // set by a failed write or sync; refuses appends and syncs
};

}  // namespace shfn::storage
