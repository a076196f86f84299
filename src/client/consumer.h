#pragma once
// Consumers. A `consumer` subscribes one `partition_consumer` per partition and merges what they
// receive into one queue that receive() drains.
//
// Flow control: each partition_consumer grants receiver_queue_size permits on subscribe and
// refills them (FLOW) once the application has taken half, or sooner when the broker has none
// left and a large entry waits (permit_window, batch_tracker.h); the next receive() first lets the
// event loop run once, so the FLOW (and the acks made so far) go out at once even when the
// application receives in a tight loop that would otherwise not suspend until the queue ran dry.
// Acks are batched per event-loop turn into one ACK command. Negative acks and ack timeouts
// become REDELIVER_UNACKNOWLEDGED_MESSAGES after their delay. On reconnect the local queue for
// that partition is dropped: the broker redelivers it.
//
// What an entry means for the application (batches delivered in part after a redelivery, chunked
// messages put together, dead-letter decisions) is decided without I/O by entry_decoder
// (entry_decoder.h); partition_consumer carries it out on its connection.

#include <asio/awaitable.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/backoff.h"
#include "base/notifier.h"
#include "client/batch_tracker.h"
#include "client/connection.h"
#include "client/entry_decoder.h"
#include "client/message.h"
#include "client/message_queue.h"
#include "client/options.h"

namespace shfn::client {

class client;
class consumer;
class producer;

class partition_consumer final : public connection_listener {
 public:
  partition_consumer(client& owner_client, consumer& owner, std::string topic, int partition,
                     const consumer_options& options);
  ~partition_consumer() override;

  asio::awaitable<result<void>> start();
  void acknowledge(const wire::message_id& id);
  void acknowledge_cumulative(const wire::message_id& id);
  // Asks the broker to send these entries again (or everything unacked, for subscription
  // types that cannot redeliver selectively).
  void redeliver(const std::vector<wire::message_id>& ids);
  // The application took a message; true when that sent a FLOW.
  bool message_consumed() { return consumed(1); }
  // The subscription's backlog on this partition, as the broker counts it (CONSUMER_STATS).
  asio::awaitable<result<std::uint64_t>> backlog();
  asio::awaitable<result<void>> unsubscribe();
  asio::awaitable<void> close();

  void on_frame(const wire::frame& f) override;
  void on_disconnected() override;

 private:
  asio::awaitable<result<void>> subscribe_once();
  asio::awaitable<void> reconnect_loop();
  void handle_message(const wire::frame& f);
  bool consumed(int count);
  void queue_ack(const wire::message_id& entry);
  void flush_acks();
  void grant_permits(int count);
  void reset_local_state();

  client& client_;
  consumer& owner_;
  std::string topic_;
  int partition_;
  const consumer_options& options_;
  std::uint64_t consumer_id_;
  std::shared_ptr<connection> conn_;
  permit_window permits_;
  entry_decoder decoder_;  // batches, chunks and dead-letter decisions; outlives reconnects
  std::vector<wire::message_id> pending_acks_;
  bool ack_flush_scheduled_ = false;
  bool closing_ = false;
  notifier wake_;
  backoff backoff_;
  gate gate_;
};

class consumer {
 public:
  consumer(client& owner, consumer_options options, int partitions);
  // Close (or unsubscribe) first: until then its redelivery and dead-letter loops use it, and
  // destroying an open consumer leaves them waiting on freed memory (ASan shows it).
  ~consumer();

  asio::awaitable<result<void>> start();

  // The next message; errc::timeout at the deadline, errc::closed once closed,
  // errc::interrupted after interrupt().
  asio::awaitable<result<message>> receive(clock::time_point deadline = clock::time_point::max());
  // The receive() waiting for a message (or, if none waits, the next one that would) returns
  // errc::interrupted: how an owner that is stopping ends its receive loop without polling.
  void interrupt() {
    interrupted_ = true;
    arrived_.notify_all();
  }
  // Whether receive() has a message to return at once.
  bool has_queued() const { return !incoming_.empty(); }
  // A queued message without suspending, for a receiver that takes what has come in bulk;
  // nullopt when none is queued (or once closed). The FLOW it may queue goes out at the
  // caller's next suspension.
  std::optional<message> try_receive();
  // try_receive(), only for a message of the batch entry `taken` came in (same partition,
  // ledger and entry): for a receiver that stops, so that it does not leave an entry half taken,
  // which the broker would send again whole, the half that ran with it.
  std::optional<message> try_receive_rest_of(const wire::message_id& taken);
  void acknowledge(const message& m);
  void acknowledge_cumulative(const message& m);
  // Redelivered after negative_ack_delay, with a higher redelivery count.
  void negative_acknowledge(const message& m);
  // The same with a delay of its own (a retry back-off that grows with the redelivery count).
  void negative_acknowledge(const message& m, std::chrono::milliseconds delay);
  // Messages of the subscription not acknowledged yet, over every partition: what Pulsar's
  // topic stats call msgBacklog, asked of the broker.
  asio::awaitable<result<std::uint64_t>> backlog();
  asio::awaitable<result<void>> unsubscribe();
  asio::awaitable<void> close();

  const std::string& topic() const { return options_.topic; }

  // For partition consumers: a new message at the back of the queue, filled in place, and the
  // wake-up for receive() once a frame's messages are all in.
  message_queue& incoming() { return incoming_; }
  void arrived() { arrived_.notify_all(); }
  void dead_letter(message m);
  // Drops the partition's messages not yet received; returns their ids.
  std::vector<wire::message_id> drop_queued(int partition);

 private:
  partition_consumer& part_of(const wire::message_id& id);
  // The front of the queue, counted as received (flow permits, ack timeout); the caller pops it.
  message& front_taken();
  asio::awaitable<void> redelivery_loop();
  asio::awaitable<void> dead_letter_loop();
  // Retried until it works; nullopt once the consumer is closed.
  asio::awaitable<std::optional<std::unique_ptr<producer>>> create_dead_letter_producer(
      std::string topic);
  asio::awaitable<bool> pause(std::chrono::milliseconds d);

  client& client_;
  consumer_options options_;
  std::vector<std::unique_ptr<partition_consumer>> parts_;
  message_queue incoming_;
  notifier arrived_;
  std::vector<std::pair<clock::time_point, wire::message_id>> redeliver_at_;
  std::map<wire::message_id, clock::time_point> unacked_since_;  // for ack_timeout
  notifier redelivery_changed_;
  std::deque<message> dead_letters_;
  notifier dead_letter_arrived_;
  std::unique_ptr<producer> dead_letter_producer_;
  bool closed_ = false;
  bool interrupted_ = false;
  bool flow_queued_ = false;  // by the last receive(): the next one lets it go out first
  gate gate_;
};

}  // namespace shfn::client
