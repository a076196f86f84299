#pragma once
// Producers. A `producer` routes messages over one `partition_producer` per partition (one in
// all for a non-partitioned topic): by key hash when a message has a key, else round robin.
//
// A partition_producer keeps every message it has sent until its SEND_RECEIPT arrives. When the
// connection drops or the broker closes the producer, it looks the topic up again, re-creates
// itself under the same name, and resends what is pending with the original sequence ids, so the
// broker's deduplication can drop what it already has.
//
// Back-pressure: at most max_pending_messages are un-receipted across all partitions;
// send_async() waits for room.

#include <asio/awaitable.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/backoff.h"
#include "base/notifier.h"
#include "client/connection.h"
#include "client/message.h"
#include "client/options.h"
#include "wire/message_id.h"

namespace shfn::client {

class client;

using send_callback = std::function<void(result<wire::message_id>)>;

// Un-receipted messages across a producer's partitions.
struct send_budget {
  std::size_t used = 0;
  std::size_t limit = 0;
  notifier freed;
};

class partition_producer final : public connection_listener {
 public:
  partition_producer(client& owner, std::string topic, int partition,
                     const producer_options& options, send_budget& budget);
  ~partition_producer() override;

  asio::awaitable<result<void>> start();
  // Queues the message (into the current batch when batching); `done` is called exactly once,
  // with the receipt or the error.
  void enqueue(outgoing_message message, send_callback done);
  // Sends the open batch, if any, without waiting for its delay or size.
  void send_batch();
  asio::awaitable<result<void>> flush();
  asio::awaitable<void> close();

  const std::string& name() const { return name_; }

  void on_frame(const wire::frame& f) override;
  void on_disconnected() override;

 private:
  struct pending_send {
    std::uint64_t sequence_id = 0;
    std::uint64_t highest_sequence_id = 0;
    bool batched = false;
    bytes frame;
    std::vector<send_callback> callbacks;
    clock::time_point created;
  };
  struct open_batch {
    bytes payload;
    std::vector<send_callback> callbacks;
    std::uint64_t first_sequence_id = 0;
    std::uint64_t last_sequence_id = 0;
    clock::time_point started;
  };

  asio::awaitable<result<void>> connect_once();
  asio::awaitable<void> reconnect_loop();
  asio::awaitable<void> timer_loop();
  void queue_send(pending_send op, wire::pb::MessageMetadata metadata, byte_view payload);
  void complete_front(result<wire::message_id> outcome);
  void fail_all(std::error_code ec);
  void handle_receipt(const wire::pb::CommandSendReceipt& receipt);
  void handle_send_error(const wire::pb::CommandSendError& error);
  void drop_connection();

  client& client_;
  std::string topic_;
  int partition_;
  const producer_options& options_;
  send_budget& budget_;
  std::uint64_t producer_id_;
  std::string name_;
  std::uint64_t epoch_ = 0;
  std::uint64_t next_sequence_id_ = 0;
  bool sequence_known_ = false;

  std::shared_ptr<connection> conn_;
  std::deque<pending_send> pending_;
  open_batch batch_;
  bool closing_ = false;
  notifier wake_;     // connection lost, batch opened, or closing
  notifier drained_;  // pending_ became empty
  backoff backoff_;
  gate gate_;
};

class producer {
 public:
  producer(client& owner, producer_options options, std::string topic, int partitions);
  ~producer();

  asio::awaitable<result<void>> start();

  // Waits for room under max_pending_messages, queues the message and returns; `done` is called
  // exactly once, later, with the receipt or the error. Pass `done` as a named std::function when
  // the lambda captures anything with a destructor: GCC 12 destroys such lambda temporaries in a
  // co_await argument twice.
  asio::awaitable<void> send_async(outgoing_message message, send_callback done);
  // send_async() without the wait, for a sender of many: when max_pending_messages wait for
  // receipts already, returns false and takes nothing (then co_await send_async()).
  bool try_send_async(outgoing_message& message, send_callback& done);
  // The open batches go out now instead of after their delay (see send()'s publish_now).
  void send_open_batches();
  // Sends and waits for the receipt. With `publish_now`, the message's batch (and any other
  // open one) goes out at once instead of after its delay: for a sender that knows nothing else
  // is coming for a while.
  asio::awaitable<result<wire::message_id>> send(outgoing_message message,
                                                 bool publish_now = false);
  // Sends any open batch and waits until every message has its receipt.
  asio::awaitable<result<void>> flush();
  asio::awaitable<void> close();

  const std::string& topic() const { return topic_; }
  const std::string& name() const { return parts_.front()->name(); }

 private:
  partition_producer& route(const outgoing_message& message);

  client& client_;
  producer_options options_;
  std::string topic_;
  send_budget budget_;
  std::vector<std::unique_ptr<partition_producer>> parts_;
  std::size_t round_robin_ = 0;
  bool closed_ = false;
};

}  // namespace shfn::client
