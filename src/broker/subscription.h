#pragma once
// A subscription: a durable cursor over its topic's log plus the consumers attached to it, and
// the dispatcher that decides which consumer gets which entry.
//
//   Exclusive  one consumer; a second one is refused.
//   Failover   one active consumer: the first to subscribe on a non-partitioned topic, else
//              consumers sorted by name and picked by partition index; the others stand by.
//   Shared     round robin over consumers that have permits.
//   Key_Shared each key hash (Murmur3 of the entry's key, mod 65536) belongs to one consumer:
//              the one whose STICKY ranges hold it, or by a consistent-hash ring (AUTO_SPLIT). An
//              entry is held back while an earlier entry with the same hash is unacknowledged on
//              another consumer, so per-key order holds across consumers joining and leaving.
//
// Entries go out only within FLOW permits (counted in messages, a batch counts its size).
// Acked entries are recorded in the cursor (mark-delete position plus individually acked
// ranges) before anything else happens, so after a crash only unacked entries come back.
// Entries a consumer had but did not ack (it left, or asked for redelivery) go to the replay
// set, dispatched before new entries, with their redelivery count raised.
//
// Delayed delivery (a message's deliver_at_time), as Pulsar: Shared and Key_Shared
// subscriptions set a message aside until its time and deliver it then; Exclusive and Failover
// deliver at once. What is set aside is only remembered in memory: it is unacknowledged, so
// after a restart the dispatcher reads it again from the cursor and sets it aside again.

#include <asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "broker/links.h"
#include "pulsar_api.pb.h"
#include "storage/cursor.h"

namespace shfn::broker {

class topic;

struct consumer {
  std::uint64_t id = 0;  // the client's consumer_id on its connection
  std::string name;
  consumer_link* link = nullptr;   // valid while the consumer is attached
  bool reads_any_schema = false;   // AUTO_CONSUME: it takes the topic's schema, whatever it is
  bool reads_compacted = false;    // read_compacted: the topic's compacted view, then its log
  bool told_end_of_topic = false;  // REACHED_END_OF_TOPIC sent
  std::int64_t permits = 0;
  // Key_Shared STICKY: the hash ranges (inclusive) this consumer claimed; empty: AUTO_SPLIT.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> hash_ranges;
  struct in_flight {
    int messages = 1;
    std::uint32_t hash = 0;
  };
  std::map<std::uint64_t, in_flight> unacked;  // offset -> what was sent
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t acks_in = 0;
};

// An entry on its way to a consumer, with what the dispatcher needs from its metadata.
struct dispatch_entry {
  std::uint64_t offset = 0;
  bytes data;  // the stored checksummed section
  int messages = 1;
  bool batched = false;            // the producer batched it (even a batch of one)
  std::uint32_t hash = 0;          // Key_Shared sticky key hash
  std::int64_t deliver_at_ms = 0;  // delayed delivery: not before this time (0: at once)
};

// The log offset a client's message id names, when it names an entry of `ledger` (clients send
// -1, i.e. UINT64_MAX, for "no entry").
std::optional<std::uint64_t> offset_of(const wire::pb::MessageIdData& id, std::int64_t ledger);

// Reads num_messages_in_batch and, when `with_key_hash` (Key_Shared), the sticky key's hash from
// a stored entry. The key can mean decompressing a batch, so only Key_Shared asks for it.
result<dispatch_entry> describe_entry(std::uint64_t offset, bytes data, bool with_key_hash);

class subscription {
 public:
  using sub_type = wire::pb::CommandSubscribe::SubType;

  // `cursor` is null for a non-persistent topic.
  // `ephemeral`: a reader's (non-durable) subscription, deleted when its consumer leaves.
  subscription(topic& owner, std::string name, sub_type type,
               std::unique_ptr<storage::cursor_file> cursor, bool ephemeral = false);
  ~subscription();

  const std::string& name() const { return name_; }
  sub_type type() const { return type_; }
  const std::vector<std::unique_ptr<consumer>>& consumers() const { return consumers_; }

  result<consumer*> attach(std::unique_ptr<consumer> c, sub_type type);
  // Once the client was told its subscribe succeeded: a Failover consumer hears whether it is
  // the active one. Not before: clients drop the notice of a consumer they do not know yet.
  void welcome(consumer* c);
  void detach(consumer* c);  // its unacked entries are redelivered to the others
  void flow(consumer* c, std::uint32_t permits);
  void acknowledge(consumer* c, const wire::pb::CommandAck& ack);
  // `offsets` empty: everything the consumer has unacked.
  void redeliver(consumer* c, const std::vector<std::uint64_t>& offsets);
  // Moves the cursor; consumers are closed so they resubscribe from the new position.
  result<void> seek(std::uint64_t offset);
  // Settles every entry below `offset`, as a cumulative ack would, keeping the consumers: what
  // skip, clear-backlog, expire-messages and a message TTL do. Never moves backwards.
  result<void> skip_to(std::uint64_t offset);

  void on_entries_available() { dispatch(); }
  // Non-persistent topics: offered once, dropped when nobody has permits.
  void offer_transient(const dispatch_entry& e);

  std::uint64_t mark_delete() const;
  bool is_acked(std::uint64_t offset) const;
  // Offsets at or past the mark-delete position acknowledged one by one, as [first, last)
  // ranges; empty for a non-durable subscription.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> acked_ranges() const;
  std::uint64_t backlog() const;  // entries not acknowledged, from the mark-delete position
  std::uint64_t unacked_messages() const;
  bool durable() const { return cursor_ != nullptr; }  // has a cursor on disk
  // Without consumers the cursor's file is closed (reopened by the next change), so idle
  // subscriptions hold no descriptors, however many a topic has.
  void release_cursor_if_idle();
  std::size_t open_files() const { return cursor_ ? cursor_->open_files() : 0; }
  bool ephemeral() const { return ephemeral_; }
  // Topic deleted or cursor moved: every consumer is told it is closed (its session forgets it).
  void close_consumers();
  // Closes every consumer and detaches it; what they had unacked waits in the replay set.
  void disconnect_all();
  std::uint64_t messages_out() const { return messages_out_; }  // since the broker started
  std::uint64_t bytes_out() const { return bytes_out_; }

 private:
  bool wants_key_hash() const { return type_ == wire::pb::CommandSubscribe::Key_Shared; }
  // Whether the consumer entries go to reads the compacted view (only Exclusive and Failover
  // subscriptions can, so that is the active consumer).
  bool reads_compacted() const;
  void dispatch();
  void dispatch_replays(std::set<std::uint32_t>& held_hashes);
  void dispatch_new(std::set<std::uint32_t>& held_hashes);
  void tell_end_of_topic();
  bool delays_delivery() const;
  void set_aside(std::uint64_t offset, std::int64_t deliver_at_ms);
  void arm_delay_timer();
  void release_due();
  std::size_t usable_permits() const;
  consumer* choose(const dispatch_entry& e, std::set<std::uint32_t>& held_hashes);
  consumer* active_consumer() const;
  consumer* next_shared();
  consumer* key_owner(std::uint32_t hash) const;
  void send(consumer* c, dispatch_entry& e);  // hands e.data over to the consumer's link
  void release_hash(std::uint32_t hash);      // one fewer unacked entry with this key hash
  void return_to_replay(std::uint64_t offset, const consumer::in_flight& sent);
  void rebuild_ring();
  bool ranges_fit(const consumer& joining) const;
  // Tells the consumers (but `joining`, who is welcomed) whether each is now the active one.
  void announce_active(consumer* previous, const consumer* joining = nullptr);
  void record_acks(consumer* c, const wire::pb::CommandAck& ack);
  result<void> journal_individual_acks(std::vector<std::uint64_t> offsets);

  topic& topic_;
  std::string name_;
  sub_type type_;
  std::unique_ptr<storage::cursor_file> cursor_;
  bool ephemeral_ = false;
  std::vector<std::unique_ptr<consumer>> consumers_;  // in subscribe order
  std::size_t round_robin_ = 0;
  std::map<std::uint32_t, consumer*> ring_;  // Key_Shared: ring point -> consumer
  std::unordered_map<std::uint32_t, std::pair<consumer*, int>> hash_owner_;  // unacked by hash
  std::uint64_t read_position_ = 0;  // next offset never dispatched yet
  std::set<std::uint64_t> replay_;
  std::multimap<std::int64_t, std::uint64_t> delayed_;  // deliver-at time (ms) -> offset
  asio::steady_timer delay_timer_;
  std::int64_t delay_timer_at_ = 0;  // the deliver-at time the timer is set for (0: unset)
  std::unordered_map<std::uint64_t, std::uint32_t> redelivery_counts_;
  std::uint64_t messages_out_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::size_t average_batch_ = 1;  // messages per entry lately, to size reads
  bool dispatching_ = false;
  bool dispatch_again_ = false;
};

}  // namespace shfn::broker
