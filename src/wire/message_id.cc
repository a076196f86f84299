#include "wire/message_id.h"

#include <fmt/format.h>

namespace shfn::wire {

message_id message_id::from_pb(const pb::MessageIdData& data) {
  return {.ledger = static_cast<std::int64_t>(data.ledgerid()),
          .entry = static_cast<std::int64_t>(data.entryid()),
          .partition = data.partition(),
          .batch_index = data.batch_index(),
          .batch_size = data.batch_size()};
}

void message_id::to_pb(pb::MessageIdData& out) const {
  out.set_ledgerid(static_cast<std::uint64_t>(ledger));
  out.set_entryid(static_cast<std::uint64_t>(entry));
  if (partition >= 0) out.set_partition(partition);
}

std::string message_id::str() const {
  return fmt::format("{}:{}:{}:{}", ledger, entry, partition, batch_index);
}

}  // namespace shfn::wire
