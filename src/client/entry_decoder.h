#pragma once
// What the entries the broker sends one partition consumer mean for the application. Sans-I/O:
// no socket, no executor; partition_consumer feeds it MESSAGE frames and the application's acks,
// and carries out what it answers (permits to return, entries to ack, dead letters to publish).
//
// An entry is a message, a batch of messages, or one chunk of a chunked message:
// - a batch is split, and only its messages still to deliver are queued: not those the broker's
//   ack set or compaction says are gone, nor those the application still holds from an earlier
//   delivery (batch_tracker);
// - chunks are gathered by the message's uuid until the last one arrives; the joined payload is
//   decompressed as a whole and delivered as one message with its last chunk's id; acking it
//   acks every chunk. A chunk that does not continue what was gathered is not delivered and
//   stays unacked;
// - an entry whose redelivery count is past the consumer's max_redeliver_count goes to the
//   dead-letter topic, whole.
// The broker charged permits for every message of the entry; those that never reach the
// application (dropped, skipped, dead-lettered) are handed back at once.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/batch_tracker.h"
#include "client/message.h"
#include "client/message_queue.h"
#include "wire/batch.h"
#include "wire/frame.h"

namespace shfn::client {

class entry_decoder {
 public:
  // `partition`: -1 for a topic that is not partitioned. `max_redeliver_count`: 0 for no
  // dead-letter policy.
  entry_decoder(std::string topic, int partition, int max_redeliver_count);

  // What became of one entry.
  struct outcome {
    int charged = 1;       // permits the broker charged for it: one per message
    int queued = 0;        // messages put in the queue for the application
    int permits_back = 0;  // messages that will not reach the application: permits to return
    std::vector<message> dead_letters;    // for the dead-letter topic, then to be acked
    std::optional<wire::message_id> ack;  // every message of it was acked before: ack it now
  };

  // A MESSAGE frame: its messages for the application are built in place at the back of `queue`.
  outcome decode(const wire::frame& f, message_queue& queue);

  // What to ack to the broker once the application acked a message.
  struct acks {
    std::optional<wire::message_id> entry;       // none while the rest of its batch is out
    std::vector<wire::message_id> other_chunks;  // of a chunked message: acked with it
  };
  acks acknowledge(const wire::message_id& id);
  // The application acked everything up to `id`: the id to ack cumulatively, if any (a batch
  // acked only in part keeps its entry).
  std::optional<wire::message_id> acknowledge_cumulative(const wire::message_id& id);
  // Message `id` was given back (negative ack, ack timeout, dropped from the local queue): it is
  // delivered again when the broker resends its entry.
  void give_back(const wire::message_id& id);
  // The other chunks of a delivered chunked message, named by its id; empty for any other.
  std::vector<wire::message_id> chunks_of(const wire::message_id& id) const;
  // The connection is gone: the broker will send the unacked chunks again, from the first. What
  // is known of batches stays: only their messages still to deliver come again.
  void disconnected() { gathering_.clear(); }

  std::size_t batches_tracked() const { return batches_.entries(); }

 private:
  using entry_key = std::pair<std::int64_t, std::int64_t>;  // ledger, entry

  // Builds the messages of an entry into the queue, or into dead letters.
  struct sink;
  void place(const wire::frame& f, message_queue& queue, outcome& out);
  // A chunk: gathered; true when it completed the message, whose payload (decompressed) is
  // then in `whole`.
  bool gather_chunk(const wire::frame& f, const wire::message_id& entry, bytes& whole);
  void decode_batch(const wire::frame& f, byte_view body, const wire::message_id& entry, sink& to,
                    outcome& out);

  std::string topic_;
  int partition_;
  int max_redeliver_count_;
  batch_tracker batches_;  // batched entries not yet wholly acked; it outlives redeliveries
  std::vector<wire::batch_entry> batch_scratch_;  // reused by every batch decoded
  struct chunk_gathering {
    int next_chunk = 0;
    bytes payload;  // as produced: compressed, if the message is
    std::vector<wire::message_id> chunks;
  };
  std::map<std::string, chunk_gathering> gathering_;  // by the message's uuid
  // Delivered chunked messages not acked yet: the last chunk's entry -> the other chunks.
  std::map<entry_key, std::vector<wire::message_id>> chunked_;
};

}  // namespace shfn::client
