#pragma once
// Where each message of a batched entry is, for one partition consumer. Sans-I/O: no socket, no
// executor; partition_consumer feeds it what arrives and what the application does.
//
// The broker acks and redelivers whole entries (after a negative ack of one message, an ack
// timeout, a reconnect), while the application acks messages. So the state of an entry outlives
// redeliveries: when the entry comes again, only its `available` messages are delivered, not
// those acked or still with the application, which would otherwise be processed twice. The
// entry itself is acked once every one of its messages is.

#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

namespace shfn::client {

class batch_tracker {
 public:
  using entry_key = std::pair<std::int64_t, std::int64_t>;  // ledger, entry

  // What to do with an entry that arrived.
  struct arrival {
    std::vector<int> deliver;  // indexes of the messages to hand to the application
    int skipped = 0;           // messages not delivered: their permits go back to the broker
    bool ack_entry = false;    // every message is acked already: ack the entry now
  };

  // The entry `key` of `count` messages arrived (again). `acked_on_arrival(i)`: the broker's ack
  // set or compaction says message i is gone already.
  arrival arrived(entry_key key, int count, const std::function<bool(int)>& acked_on_arrival);
  // The application acked message `index`: true when that completes its entry, which is then
  // forgotten and must be acked. False for a message acked before or an entry unknown (acked
  // whole already).
  bool acknowledge(entry_key key, int index);
  // Message `index` was given back (negative ack, timeout, dropped from the local queue): it is
  // delivered again when the broker resends its entry.
  void make_available(entry_key key, int index);
  // A cumulative ack covers every entry up to `last`, inclusive.
  void forget_through(entry_key last);

  std::size_t entries() const { return batches_.size(); }  // tracked: not wholly acked

 private:
  enum class message_state : std::uint8_t {
    available,    // to deliver when the entry comes (again)
    outstanding,  // queued here or with the application
    acked,
  };
  struct entry_state {
    std::vector<message_state> messages;
    std::size_t left = 0;  // messages not acked yet
  };
  std::map<entry_key, entry_state> batches_;
};

// Flow control for one partition consumer (Pulsar's FLOW permits). Sans-I/O: it says how many
// permits to grant, the caller sends the FLOW.
//
// Permits go back to the broker once half the queue has been taken, as Pulsar's clients do. When
// entries are large (a batch about the size of the queue), that alone asks for the next entry
// only halfway through the current one, leaving the broker half an entry's processing time to
// answer before the queue runs dry. So permits also go back as soon as the broker has none left
// for this consumer and the messages taken since the last FLOW would let it send again (with
// batches, usually after the first message of an entry): the next entry then travels while the
// current one is worked through. Either way the permits granted are exactly the messages taken,
// so the receiver queue holds no more than before; only the moment of the FLOW moves, and at
// most one early FLOW follows each entry.
class permit_window {
 public:
  explicit permit_window(int queue_size) : half_(queue_size / 2 > 0 ? queue_size / 2 : 1) {}

  // Permits were granted (the initial FLOW, or one consumed() asked for).
  void granted(int count) { broker_permits_ += count; }
  // An entry of `messages` messages arrived: what the broker charged for it.
  void entry_arrived(int messages) {
    broker_permits_ -= messages;
    last_entry_messages_ = messages;
  }
  // `count` messages were taken from the queue (or dropped): how many permits to grant now,
  // 0 for none yet. The caller grants them (and calls granted()).
  int consumed(int count);
  // After a (re)subscribe the broker starts from no permits; the size of the last entry stays.
  void reset() {
    consumed_since_flow_ = 0;
    broker_permits_ = 0;
  }

  std::int64_t broker_permits() const { return broker_permits_; }

 private:
  int half_;
  int consumed_since_flow_ = 0;
  // The broker's view of our permits (granted minus what it sent), and the size of the last
  // entry, for deciding when a FLOW lets the broker send its next entry.
  std::int64_t broker_permits_ = 0;
  int last_entry_messages_ = 1;
};

}  // namespace shfn::client
