#include "broker/compactor.h"

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/log.h"
#include "pulsar_api.pb.h"
#include "wire/batch.h"
#include "wire/compression.h"
#include "wire/errc.h"
#include "wire/frame.h"

namespace shfn::broker {
namespace pb = wire::pb;

namespace {

constexpr std::size_t chunk_entries = 256;
constexpr std::size_t chunk_bytes = 4 << 20;

// A message of the topic: its entry's offset and, in a batch, its index there.
struct message_position {
  std::uint64_t offset = 0;
  int index = -1;  // -1: not batched
  bool operator==(const message_position&) const = default;
};

// An entry as compaction sees it: its metadata and, for a batch it can read, its messages. The
// messages' payloads point into `uncompressed` (or into the stored entry when the batch was not
// compressed): moving a parsed_entry moves that buffer without moving its bytes.
struct parsed_entry {
  pb::MessageMetadata metadata;
  byte_view payload;
  bytes uncompressed;  // a batch's payload, decompressed when it was compressed
  std::vector<wire::batch_entry> batch;
  // Pulsar reads the messages of a batch unless it is encrypted; one it cannot decode is kept
  // whole, and an encrypted one is handled as one message.
  enum class kind { single, batch, broken_batch } kind = kind::single;
};

result<parsed_entry> parse(byte_view stored) {
  auto section = wire::decode_checksummed(stored);
  if (!section) return fail(wire::errc::bad_metadata);
  parsed_entry e;
  e.metadata = std::move(section->metadata);
  e.payload = section->payload;
  if (!e.metadata.has_num_messages_in_batch() || e.metadata.has_encryption_param()) return e;
  e.kind = parsed_entry::kind::broken_batch;
  byte_view batch = e.payload;
  if (e.metadata.compression() != pb::NONE) {
    auto plain =
        wire::decompress(e.metadata.compression(), e.payload, e.metadata.uncompressed_size());
    if (!plain) return e;
    e.uncompressed = std::move(*plain);
    batch = e.uncompressed;
  }
  auto messages = wire::decode_batch(batch, e.metadata.num_messages_in_batch());
  if (!messages) return e;
  e.batch = std::move(*messages);
  e.kind = parsed_entry::kind::batch;
  return e;
}

// Every entry of the topic as the previous view shows it, in offset order, up to the horizon.
using entry_visitor = std::function<result<void>(const storage::entry&)>;

result<void> visit_range(const compaction_source& source, bool from_view, std::uint64_t from,
                         std::uint64_t until, const entry_visitor& visit) {
  while (from < until) {
    auto entries = from_view ? source.previous->read(from, chunk_entries, chunk_bytes)
                             : source.log->read(from, chunk_entries, chunk_bytes);
    if (!entries) return fail(entries.error());
    if (entries->empty()) return {};
    if (!from_view && entries->front().offset > from) {
      spdlog::error("compaction of {}: offsets {} to {} were trimmed under it",
                    source.topic_dir.string(), from, entries->front().offset - 1);
      return fail(std::make_error_code(std::errc::resource_unavailable_try_again));
    }
    for (const auto& e : *entries) {
      if (e.offset >= until) return {};
      if (auto ok = visit(e); !ok) return ok;
      from = e.offset + 1;
    }
  }
  return {};
}

result<void> visit_view(const compaction_source& source, const entry_visitor& visit) {
  std::uint64_t log_from = source.log->start_offset();
  if (source.previous) {
    const std::uint64_t below = std::min(source.previous->horizon(), source.horizon);
    if (auto ok = visit_range(source, true, 0, below, visit); !ok) return ok;
    log_from = std::max(log_from, source.previous->horizon());
  }
  return visit_range(source, false, log_from, source.horizon, visit);
}

// Phase one: each key's latest message, and how many messages it leaves behind.
class latest_by_key {
 public:
  void add(const storage::entry& stored, const parsed_entry& e) {
    if (e.kind == parsed_entry::kind::broken_batch) return;
    if (e.kind == parsed_entry::kind::single) {
      if (!e.metadata.has_partition_key()) {
        ++removed_;
        return;
      }
      // Pulsar's size of a message that is not batched: the uncompressed size its metadata
      // gives, else the whole entry's.
      const std::uint64_t size =
          e.metadata.has_uncompressed_size() ? e.metadata.uncompressed_size() : stored.data.size();
      record(e.metadata.partition_key(), {stored.offset, -1}, size);
      return;
    }
    for (std::size_t i = 0; i < e.batch.size(); ++i) {
      const auto& m = e.batch[i].metadata;
      if (m.compacted_out()) continue;
      if (!m.has_partition_key()) {
        ++removed_;
        continue;
      }
      record(m.partition_key(), {stored.offset, static_cast<int>(i)}, e.batch[i].payload.size());
    }
  }

  bool is_latest(const std::string& key, message_position at) const {
    auto it = latest_.find(key);
    return it != latest_.end() && it->second == at;
  }
  std::uint64_t removed() const { return removed_; }

 private:
  void record(const std::string& key, message_position at, std::uint64_t size) {
    if (size == 0) {
      latest_.erase(key);
      ++removed_;
      return;
    }
    auto [it, inserted] = latest_.insert_or_assign(key, at);
    if (!inserted) ++removed_;
  }

  std::unordered_map<std::string, message_position> latest_;
  std::uint64_t removed_ = 0;
};

// Phase two for a batch: the same batch with the messages that are not their key's latest
// made `compacted_out`, or nothing when none is left.
result<std::optional<bytes>> rebatch(const storage::entry& stored, const parsed_entry& e,
                                     const latest_by_key& latest) {
  bytes payload;
  int retained = 0;
  bool changed = false;
  for (std::size_t i = 0; i < e.batch.size(); ++i) {
    const auto& m = e.batch[i].metadata;
    const bool keep = !m.compacted_out() && m.has_partition_key() && !e.batch[i].payload.empty() &&
                      latest.is_latest(m.partition_key(), {stored.offset, static_cast<int>(i)});
    if (keep) {
      ++retained;
      wire::append_to_batch(payload, m, e.batch[i].payload);
      continue;
    }
    changed = changed || !m.compacted_out();
    pb::SingleMessageMetadata placeholder;
    placeholder.set_compacted_out(true);
    placeholder.set_payload_size(0);
    wire::append_to_batch(payload, placeholder, {});
  }
  if (retained == 0) return std::optional<bytes>();
  if (!changed) return std::optional<bytes>(bytes(stored.data.begin(), stored.data.end()));
  pb::MessageMetadata metadata = e.metadata;
  metadata.set_uncompressed_size(static_cast<std::uint32_t>(payload.size()));
  if (metadata.compression() != pb::NONE) {
    auto packed = wire::compress(metadata.compression(), payload);
    if (!packed) return fail(packed.error());
    payload = std::move(*packed);
  }
  bytes entry;
  wire::append_checksummed(entry, metadata, payload);
  return std::optional<bytes>(std::move(entry));
}

result<parsed_entry> parse_at(const compaction_source& source, const storage::entry& stored) {
  auto e = parse(stored.data);
  if (!e) {
    spdlog::error("compaction of {}: the entry at offset {} has unreadable metadata",
                  source.topic_dir.string(), stored.offset);
  }
  return e;
}

}  // namespace

int last_kept_index(byte_view stored) {
  auto e = parse(stored);
  if (!e || e->kind != parsed_entry::kind::batch) return -1;
  for (auto i = static_cast<int>(e->batch.size()) - 1; i >= 0; --i) {
    if (!e->batch[static_cast<std::size_t>(i)].metadata.compacted_out()) return i;
  }
  return -1;
}

result<compaction_outcome> compact(const compaction_source& source) {
  latest_by_key latest;
  auto phase_one = visit_view(source, [&](const storage::entry& stored) -> result<void> {
    auto e = parse_at(source, stored);
    if (!e) return fail(e.error());
    latest.add(stored, *e);
    return {};
  });
  if (!phase_one) return fail(phase_one.error());

  const std::uint64_t generation = source.previous ? source.previous->generation() + 1 : 0;
  auto writer = storage::compacted_log::writer::begin(source.topic_dir, generation);
  if (!writer) return fail(writer.error());
  auto phase_two = visit_view(source, [&](const storage::entry& stored) -> result<void> {
    auto e = parse_at(source, stored);
    if (!e) return fail(e.error());
    if (e->kind != parsed_entry::kind::batch) {
      const bool keep = e->kind == parsed_entry::kind::broken_batch ||
                        (e->metadata.has_partition_key() &&
                         latest.is_latest(e->metadata.partition_key(), {stored.offset, -1}));
      if (!keep) return {};
      return writer->append(stored.offset, stored.publish_time, stored.data);
    }
    auto kept = rebatch(stored, *e, latest);
    if (!kept) return fail(kept.error());
    if (!*kept) return {};
    return writer->append(stored.offset, stored.publish_time, **kept);
  });
  if (!phase_two) return fail(phase_two.error());
  auto view = writer->commit(source.horizon);
  if (!view) return fail(view.error());
  return compaction_outcome{.view = std::move(*view), .removed = latest.removed()};
}

}  // namespace shfn::broker
