#pragma once
// Bookkeeping for "nothing that got a receipt is lost" tests: send numbered messages through a
// producer, consume and ack them in the background, then check every receipted payload was
// consumed. Everything runs on the test's io_context.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <set>
#include <string>
#include <vector>

#include "client/consumer.h"
#include "client/producer.h"

namespace shfn::testing {

class receipt_ledger {
 public:
  // Consumes (and acks) from `c` into this ledger until finish().
  void start_consuming(asio::io_context& io, client::consumer& c);
  // Sends `payload`; its receipt (or failure) is recorded when it arrives.
  asio::awaitable<void> send(client::producer& p, const std::string& payload);
  // Waits up to `patience` for every receipted payload to be consumed, then stops consuming.
  asio::awaitable<void> finish(std::chrono::milliseconds patience);

  std::size_t receipts() const { return receipted_.size(); }
  int send_failures() const { return send_failures_; }
  std::vector<std::string> lost() const;  // receipted, never consumed

 private:
  asio::awaitable<void> consume(client::consumer& c);

  std::set<std::string> receipted_;
  std::set<std::string> consumed_;
  int send_failures_ = 0;
  bool consuming_ = true;
  bool consumer_finished_ = false;
};

}  // namespace shfn::testing
