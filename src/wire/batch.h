#pragma once
// Batch payloads: the uncompressed payload of a batched entry is a run of
//   [size u32][SingleMessageMetadata][payload (payload_size bytes)]
// repeated num_messages_in_batch times.

#include <span>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "pulsar_api.pb.h"

namespace shfn::wire {

struct batch_entry {
  pb::SingleMessageMetadata metadata;
  byte_view payload;  // points into the decoded batch buffer
};

// Splits a batch; the count must match the contents exactly.
result<std::vector<batch_entry>> decode_batch(byte_view payload, int count);

// The same into `storage`, whose entries (and their metadata objects) are reused from batch to
// batch: a consumer that keeps one vector parses every batch without allocating. Returns the
// batch's `count` entries, a view of `storage`, which only ever grows.
result<std::span<batch_entry>> decode_batch(byte_view payload, int count,
                                            std::vector<batch_entry>& storage);

void append_to_batch(bytes& out, const pb::SingleMessageMetadata& metadata, byte_view payload);

// ParseFromArray for the per-message metadata of a batch, with the same result, in a fraction of
// the time: the fields Pulsar defines are read directly, and anything else (unknown fields,
// unexpected wire types, malformed input) goes to protobuf's own parser.
bool parse_single_message_metadata(byte_view raw, pb::SingleMessageMetadata& out);

}  // namespace shfn::wire
