#pragma once
// Bookkeeping for "nothing that got a receipt is lost" tests: a producer and a consumer on one
// topic (each on a client of its own), numbered messages sent with a bounded number awaiting
// receipts, consumption (and acks) in the background, and the check that every receipted payload
// was consumed. Everything runs on the test's io_context; waits are on conditions, not timers.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/notifier.h"
#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"

namespace shfn::testing {

// A batching producer without a send timeout and an Exclusive consumer from the earliest
// message, on `topic`.
struct message_stream {
  std::unique_ptr<client::client> producer_client;
  std::unique_ptr<client::client> consumer_client;
  std::unique_ptr<client::producer> producer;
  std::unique_ptr<client::consumer> consumer;

  static asio::awaitable<result<message_stream>> open(asio::io_context& io,
                                                      const client::client_options& options,
                                                      const std::string& topic);
  asio::awaitable<void> close();
};

class receipt_ledger {
 public:
  // Consumes (and acks) from `c` into this ledger until finish().
  void start_consuming(asio::io_context& io, client::consumer& c);
  // Sends `payload` once fewer than `window` sends await their receipts, so a stream keeps a
  // steady number in flight (through a broker restart too); gives up waiting after `patience`.
  asio::awaitable<void> send(client::producer& p, const std::string& payload,
                             std::chrono::milliseconds patience = std::chrono::seconds(120));
  // Waits up to `patience` for every receipted payload to be consumed, then stops consuming.
  asio::awaitable<void> finish(std::chrono::milliseconds patience);

  std::size_t receipts() const { return receipted_.size(); }
  int send_failures() const { return send_failures_; }
  std::vector<std::string> lost() const;  // receipted, never consumed

  static constexpr std::size_t window = 50;

 private:
  asio::awaitable<void> consume(client::consumer& c);
  bool all_consumed() const;

  std::set<std::string> receipted_;
  std::set<std::string> consumed_;
  std::size_t in_flight_ = 0;
  int send_failures_ = 0;
  bool consuming_ = true;
  bool consumer_finished_ = false;
  notifier changed_;  // a receipt, a failure, a consumed message, or the consumer stopping
};

}  // namespace shfn::testing
