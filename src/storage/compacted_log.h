#pragma once
// The compacted view of a topic: what Pulsar's topic compaction keeps of its log (the latest
// message per key, broker/compactor.h decides which), read by subscriptions that ask for
// `read_compacted` below the view's horizon, the log itself from there on.
//
// Each compaction writes a new generation beside the one in use and switches to it only once
// it is durable, so a crash at any point leaves one whole view (the old or the new) and never a
// partial one:
//
// TOPIC/compacted-<generation>/   a storage::log (log.h) whose records' data is
//     [8]  u64 the entry's offset in the topic's log (big-endian), strictly increasing
//     [..] the entry as the topic's log stores it ([metadata size][metadata][payload])
//   and whose record publish time is the entry's.
// TOPIC/COMPACTED                 "<generation> <horizon>\n": the view in use, covering the
//   topic's offsets below <horizon>. Replaced durably (written, synced, renamed).
//
// Opening a topic keeps the generation COMPACTED names and deletes every other one (leftovers of
// a compaction interrupted before its switch, or of the switch itself).
//
// Threads: a compacted_log is read-only once committed; its reads go through storage::log,
// which is thread-safe, so a compaction may read the view in use while subscriptions do.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "base/result.h"
#include "storage/log.h"

namespace shfn::storage {

class compacted_log {
 public:
  // The view COMPACTED names in `topic_dir`, or null when the topic was never compacted.
  // errc::bad_compacted_file when COMPACTED cannot be parsed or its generation is missing.
  [[nodiscard]] static result<std::shared_ptr<const compacted_log>> open(
      const std::filesystem::path& topic_dir);

  // Offsets below it are in the view; the topic's log carries on from here.
  std::uint64_t horizon() const { return horizon_; }
  std::uint64_t generation() const { return generation_; }
  std::uint64_t entries() const { return records_->end_offset() - records_->start_offset(); }
  std::uint64_t size_bytes() const { return records_->size_bytes(); }

  // The view's entries whose topic offset is >= `from` (each entry's offset is its topic
  // offset): at most max_entries, within max_bytes as log::read counts them.
  [[nodiscard]] result<std::vector<entry>> read(std::uint64_t from, std::size_t max_entries,
                                                std::size_t max_bytes) const;
  // The view's last entry; none when it is empty.
  [[nodiscard]] result<std::optional<entry>> last() const;

  // Writes the next generation. Entries are appended in offset order; commit() makes them
  // durable, then switches COMPACTED to them. A writer dropped before commit() leaves its
  // directory behind for the next open() (or the next writer) to delete.
  class writer {
   public:
    [[nodiscard]] static result<writer> begin(const std::filesystem::path& topic_dir,
                                              std::uint64_t generation);
    [[nodiscard]] result<void> append(std::uint64_t offset, std::uint64_t publish_time,
                                      byte_view data);
    [[nodiscard]] result<std::shared_ptr<const compacted_log>> commit(std::uint64_t horizon);

   private:
    writer(std::filesystem::path topic_dir, std::uint64_t generation, std::unique_ptr<log> records);
    std::filesystem::path topic_dir_;
    std::uint64_t generation_ = 0;
    std::unique_ptr<log> records_;
    bytes record_;  // reused for each append
  };

  // Deletes every generation but `keep` (none: every one) and, when `keep` is none, COMPACTED.
  [[nodiscard]] static result<void> remove_other_generations(const std::filesystem::path& topic_dir,
                                                             std::optional<std::uint64_t> keep);

 private:
  compacted_log(std::unique_ptr<log> records, std::uint64_t generation, std::uint64_t horizon);
  // The index in records_ of the first entry whose topic offset is >= `from`.
  result<std::uint64_t> lower_bound(std::uint64_t from) const;

  std::unique_ptr<log> records_;
  std::uint64_t generation_ = 0;
  std::uint64_t horizon_ = 0;
};

}  // namespace shfn::storage
