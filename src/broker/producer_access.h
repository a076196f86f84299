#pragma once
// Who may publish on a topic: Pulsar's producer access modes, as policy apart from I/O.
//
//   Shared               any number of producers, unless an exclusive one holds the topic.
//   Exclusive            the only producer; refused (ProducerFenced) while anyone else is there.
//   ExclusiveWithFencing the only producer; everyone else is fenced out (closed) to make room.
//   WaitForExclusive     the only producer; queued, in arrival order, until the topic is free.
//
// Every exclusive grant raises the topic epoch. A producer that reconnects names the epoch it
// was granted; one older than the current epoch was fenced meanwhile and is refused, so a
// fenced producer cannot come back and interleave with its successor. The epoch lives as long
// as the broker process (Pulsar keeps it in the topic's metadata).
//
// Owned by one topic, on the broker's executor. It knows producers by name only; the topic
// maps names to connections.

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "pulsar_api.pb.h"

namespace shfn::broker {

class producer_access {
 public:
  using mode = wire::pb::ProducerAccessMode;

  struct request {
    std::string name;
    mode access = wire::pb::Shared;
    std::optional<std::uint64_t> topic_epoch;  // the epoch a reconnecting producer was granted
  };
  struct admission {
    bool ready = true;                         // false: queued (WaitForExclusive); see release()
    std::optional<std::uint64_t> topic_epoch;  // set for exclusive grants
    std::vector<std::string> fenced;           // producers to close first (fencing)
  };
  struct promotion {
    std::string name;
    std::uint64_t topic_epoch = 0;
  };

  // Refusals carry Pulsar's server errors: ProducerBusy (a Shared producer meets an exclusive
  // one), ProducerFenced (an exclusive one meets anyone, or an epoch is stale).
  result<admission> admit(const request& r);
  // A producer left (closed, fenced or never promoted). When that frees the topic, the first
  // waiting producer gets it.
  std::optional<promotion> release(const std::string& name);

  std::optional<std::string> exclusive_holder() const { return exclusive_; }
  std::size_t waiting() const { return waiting_.size(); }
  bool has_epoch() const { return epoch_.has_value(); }

 private:
  bool stale(const request& r) const;
  std::uint64_t hold(const request& r);

  std::set<std::string> shared_;
  std::optional<std::string> exclusive_;
  std::deque<std::string> waiting_;
  std::optional<std::uint64_t> epoch_;
};

}  // namespace shfn::broker
