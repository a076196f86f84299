#pragma once
// A message's position: ledger and entry, plus partition and index inside a batch.

#include <compare>
#include <cstdint>
#include <string>

#include "pulsar_api.pb.h"

namespace shfn::wire {

struct message_id {
  std::int64_t ledger = -1;
  std::int64_t entry = -1;
  std::int32_t partition = -1;
  std::int32_t batch_index = -1;
  std::int32_t batch_size = 0;

  static message_id from_pb(const pb::MessageIdData& data);
  void to_pb(pb::MessageIdData& out) const;  // entry-level fields only, as acks want them

  // "ledger:entry:partition:batch_index", as Pulsar's clients print ids.
  std::string str() const;

  auto operator<=>(const message_id& o) const {
    return std::tie(ledger, entry, batch_index) <=> std::tie(o.ledger, o.entry, o.batch_index);
  }
  bool operator==(const message_id& o) const {
    return ledger == o.ledger && entry == o.entry && batch_index == o.batch_index &&
           partition == o.partition;
  }
  bool same_entry(const message_id& o) const {
    return ledger == o.ledger && entry == o.entry && partition == o.partition;
  }
};

}  // namespace shfn::wire
