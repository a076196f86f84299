#pragma once
// Topic compaction, as Pulsar's broker does it (its two-phase compactor, publishing order): the
// compacted view keeps, of every message with a key, only the latest, so that a reader with
// `read_compacted` gets each key's current value without reading the whole history.
//
// Phase one reads the topic as the previous view shows it (that view below its horizon, the log
// from there up to the new horizon) and finds each key's latest message; phase two reads it
// again and writes what survives into a new generation of the view (storage/compacted_log.h).
// Pulsar's rules, checked against Pulsar 4.0 standalone:
//  - a message without a key is dropped (topicCompactionRetainNullKey is false by default);
//  - in a batch, a message with an empty payload is a tombstone: it removes its key, and is
//    dropped itself. The batch keeps its size and every message's index: the messages that are
//    gone become `compacted_out` placeholders, which clients skip; a batch left with none is
//    dropped whole;
//  - a message that is not batched removes its key when its metadata says its uncompressed size
//    is 0 (what the Java and Go clients send for an empty payload). Without that field (the
//    C++ and Python clients leave it out when they do not compress) Pulsar counts the whole
//    entry, so such an empty message is kept as the key's latest value;
//  - a batch that cannot be decoded is kept whole, and its messages replace no key.
//
// Pure work on storage objects, no broker state: the topic runs it off the broker's executor
// (topic::compact) and installs the view it returns.

#include <cstdint>
#include <filesystem>
#include <memory>

#include "base/result.h"
#include "storage/compacted_log.h"
#include "storage/log.h"

namespace shfn::broker {

struct compaction_source {
  std::shared_ptr<storage::log> log;
  std::shared_ptr<const storage::compacted_log> previous;  // null: never compacted
  std::uint64_t horizon = 0;  // compact the offsets below this (the log's durable end)
  std::filesystem::path topic_dir;
};

struct compaction_outcome {
  std::shared_ptr<const storage::compacted_log> view;
  std::uint64_t removed = 0;  // messages taken out, counted as Pulsar's stats count them
};

// Writes and commits the next generation of the view. Fails, committing nothing, on an entry
// whose metadata cannot be read (Pulsar's compaction fails there too) and when the log was
// trimmed under it.
result<compaction_outcome> compact(const compaction_source& source);

// The index of the last message compaction kept in a stored batch entry (-1: not a batch, or
// one it cannot read), the last message of it a reader of the view gets.
int last_kept_index(byte_view stored);

}  // namespace shfn::broker
