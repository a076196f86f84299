#pragma once
// The durable position of one subscription: which offsets have been acknowledged.
//
// Threads and ownership: a cursor_file is owned by its subscription. The mutators and state()
// run on the broker's I/O thread; sync() may run on another (the syncer) and is safe against
// the mutators. Each mutator write(2)s its journal record before returning, so an
// acknowledgement survives the process being killed at once, and a machine crash once a later
// sync() has returned. After a failed sync (or a failed write that cannot be undone) the
// cursor refuses further changes. Compaction (below) runs on the syncer thread when the cursor
// was opened with one, else inline in the mutator that crossed the threshold; the destructor
// waits for a compaction in flight.
//
// ---------------------------------------------------------------------------------------------
// On-disk format, version 1: one file holding a snapshot followed by a journal of changes.
// All integers big-endian; CRC is CRC32C.
//   header, 16 bytes: [8] magic "SHFNCUR1"  [4] u32 version = 1  [4] u32 crc32c of those 12
//   then records: [4] u32 length of the body  [4] u32 crc32c of the body  [length] body,
//   the body being a u8 type and its fields:
//     1 snapshot        [8] mark_delete  [4] u32 n, n x ([8] first, [8] last) acked ranges
//                       [4] u32 m, m x ([4] key size, key, [4] value size, value) properties
//     2 ack             [8] offset
//     3 ack ranges      [4] u32 n, n x ([8] first, [8] last)   (half-open)
//     4 ack cumulative  [8] upto, inclusive
//     5 reset           [8] new mark_delete
// The first record is always a snapshot; the others are replayed over it in order. A damaged
// header or snapshot fails open() with errc::bad_cursor_file. The first torn or corrupt journal
// record and everything after it is dropped (logged at warn); a well-formed record of an
// unknown type fails open() instead, as it comes from a newer version, not from a crash.
//
// Compaction: once the journal outgrows max(64 KiB, the snapshot), the whole state is written
// to "<file>.tmp" as a new file holding only a snapshot, fdatasynced, renamed over the file,
// and the directory fsynced; so the file is always either the old one or the new one, whole.
// A leftover "<file>.tmp" is ignored and overwritten by the next compaction.
// On the syncer thread, the snapshot is taken on the I/O thread (the state at a journal
// position P); the records journalled after P meanwhile are copied behind it in the new file
// (those that a sync() may already have covered before the fdatasync, the rest under the lock
// that journal writes take, just before the rename), so the new file says exactly what the old
// one said at the moment it replaces it, and nothing a finished sync() covered can be lost.
// ---------------------------------------------------------------------------------------------

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "storage/file.h"
#include "storage/range_set.h"
#include "storage/syncer.h"

namespace shfn::storage {

struct cursor_state {
  std::uint64_t mark_delete = 0;  // every offset < mark_delete is acknowledged
  range_set acked;                // offsets >= mark_delete acknowledged individually
  std::map<std::string, std::string> properties;  // e.g. the subscription type; set at creation

  friend bool operator==(const cursor_state&, const cursor_state&) = default;
};

class cursor_file {
 public:
  // Loads the cursor in `file`, or creates it (and its directory) with `initial_properties`,
  // which are ignored when the file already exists. With `compactor`, compactions run on that
  // syncer's thread (which must outlive the cursor) instead of in the mutators.
  [[nodiscard]] static result<std::unique_ptr<cursor_file>> open(
      const std::filesystem::path& file, std::map<std::string, std::string> initial_properties = {},
      syncer* compactor = nullptr);
  cursor_file(const cursor_file&) = delete;
  cursor_file& operator=(const cursor_file&) = delete;
  ~cursor_file();

  const cursor_state& state() const { return state_; }

  // Each applies its change and journals it before returning; a change that changes nothing
  // writes nothing. mark_delete moves over acknowledged offsets as soon as they are contiguous
  // with it, so `acked` never holds an offset < mark_delete.
  [[nodiscard]] result<void> ack(std::uint64_t offset);
  [[nodiscard]] result<void> ack_ranges(
      const std::vector<std::pair<std::uint64_t, std::uint64_t>>& half_open_ranges);
  [[nodiscard]] result<void> ack_cumulative(std::uint64_t upto_inclusive);
  // A seek: forgets individual acks and sets mark_delete, which may move backwards.
  [[nodiscard]] result<void> reset(std::uint64_t mark_delete);

  // fdatasync of the journal (and fsync of the directory if a compaction could not).
  [[nodiscard]] result<void> sync();

  // Closes the file's descriptor while the cursor is not being written (its owner has no
  // consumers); the next change or sync() opens it again. So an idle subscription holds no
  // descriptor. Skipped while a compaction is in flight. Closing a descriptor with unsynced
  // writes loses nothing: fdatasync on the reopened one flushes the same inode, and a
  // writeback error nobody has seen yet is reported to it.
  void release();
  std::size_t open_files() const;  // 1 while the descriptor is open, else 0

  // Deletes a closed cursor's file. A missing file is fine.
  [[nodiscard]] static result<void> remove(const std::filesystem::path& file);

 private:
  struct compaction_job;

  cursor_file(std::filesystem::path file, cursor_state state);

  result<void> load();
  bytes snapshot_image() const;
  result<void> install_snapshot();
  result<void> journal(const bytes& body);
  // Writes the record; true in `compact` when the journal has grown past the threshold.
  result<void> write_record(const bytes& body, bool& compact);
  void start_compaction();
  void compact_now();  // on the syncer thread
  result<void> replace_with(bytes image, std::uint64_t from);
  // The open descriptor, opening the file again after release(); mutex_ held.
  result<std::shared_ptr<unique_fd>> file_locked();

  const std::filesystem::path path_;
  cursor_state state_;

  std::mutex sync_mutex_;          // one sync() at a time
  mutable std::mutex mutex_;       // guards the file members below against sync()
  std::shared_ptr<unique_fd> fd_;  // null after release()
  std::uint64_t file_end_ = 0;
  std::uint64_t snapshot_bytes_ = 0;  // header and snapshot record
  std::uint64_t journal_bytes_ = 0;   // records after the snapshot
  bool dirty_ = false;                // journal written since the last sync
  bool dir_dirty_ = false;            // a rename whose directory fsync failed (or is to come)
  std::error_code broken_;

  // Compaction on the syncer thread. The image and its journal position are handed over under
  // mutex_; the destructor sets closing_ and waits until no compaction is in flight.
  syncer* compactor_ = nullptr;
  std::shared_ptr<compaction_job> job_;
  bytes pending_image_;
  std::uint64_t pending_from_ = 0;
  bool compaction_in_flight_ = false;
  bool closing_ = false;
  std::condition_variable compaction_done_;
};

}  // namespace shfn::storage
