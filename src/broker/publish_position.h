#pragma once
// How far a producer's messages are stored, for deduplication: the highest sequence id stored
// and, while a chunked message is stored only in part, its last stored chunk.
//
// Every chunk of a chunked message carries the message's sequence id, so the sequence id alone
// would take chunk 1 for a resend of chunk 0 and drop it. Positions therefore order by
// (sequence id, chunk id), with a whole message (or a chunked one's last chunk) after all of its
// chunks: a SEND at or below the producer's position is a duplicate, anything after it is new.

#include <algorithm>
#include <compare>
#include <cstdint>
#include <limits>

#include "pulsar_api.pb.h"

namespace shfn::broker {

struct publish_position {
  static constexpr std::int32_t whole = std::numeric_limits<std::int32_t>::max();

  std::int64_t sequence = -1;
  std::int32_t chunk = whole;

  // The position a SEND of `sequence` (a batch: up to `highest`) with this metadata reaches.
  static publish_position reached(std::int64_t sequence, std::int64_t highest,
                                  const wire::pb::MessageMetadata& meta) {
    const bool partial =
        meta.num_chunks_from_msg() > 1 && meta.chunk_id() < meta.num_chunks_from_msg() - 1;
    if (partial) return {.sequence = sequence, .chunk = meta.chunk_id()};
    return {.sequence = std::max(sequence, highest), .chunk = whole};
  }
  // Where a SEND starts: a batch is a duplicate when its first sequence id was stored.
  static publish_position first(std::int64_t sequence, const wire::pb::MessageMetadata& meta) {
    const bool chunked = meta.num_chunks_from_msg() > 1;
    return {.sequence = sequence, .chunk = chunked ? meta.chunk_id() : whole};
  }

  // The last sequence id whose message is stored whole: what PRODUCER_SUCCESS reports.
  std::int64_t last_complete() const { return chunk == whole ? sequence : sequence - 1; }

  auto operator<=>(const publish_position&) const = default;
};

}  // namespace shfn::broker
