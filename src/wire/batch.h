#pragma once
// Batch payloads: the uncompressed payload of a batched entry is a run of
//   [size u32][SingleMessageMetadata][payload (payload_size bytes)]
// repeated num_messages_in_batch times.

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

void append_to_batch(bytes& out, const pb::SingleMessageMetadata& metadata, byte_view payload);

}  // namespace shfn::wire
