#include "support/receipt_ledger.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <iterator>

namespace shfn::testing {

using namespace std::chrono_literals;

asio::awaitable<result<message_stream>> message_stream::open(asio::io_context& io,
                                                             const client::client_options& options,
                                                             const std::string& topic) {
  message_stream s;
  auto producer_client = client::client::create(io.get_executor(), options);
  if (!producer_client) co_return fail(producer_client.error());
  auto consumer_client = client::client::create(io.get_executor(), options);
  if (!consumer_client) co_return fail(consumer_client.error());
  s.producer_client = std::move(*producer_client);
  s.consumer_client = std::move(*consumer_client);
  const client::consumer_options co{
      .topic = topic, .subscription = "s", .position = client::initial_position::earliest};
  auto consumer = co_await s.consumer_client->subscribe(co);
  if (!consumer) co_return fail(consumer.error());
  s.consumer = std::move(*consumer);
  const client::producer_options po{
      .topic = topic, .batching = true, .batching_max_delay = 2ms, .send_timeout = 0ms};
  auto producer = co_await s.producer_client->create_producer(po);
  if (!producer) co_return fail(producer.error());
  s.producer = std::move(*producer);
  co_return s;
}

asio::awaitable<void> message_stream::close() {
  co_await producer->close();
  co_await consumer->close();
  producer_client->close();
  consumer_client->close();
}

void receipt_ledger::start_consuming(asio::io_context& io, client::consumer& c) {
  asio::co_spawn(io, consume(c), asio::detached);
}

asio::awaitable<void> receipt_ledger::consume(client::consumer& c) {
  while (consuming_) {
    // A deadline, so that finish() is noticed while nothing arrives.
    auto m = co_await c.receive(clock::now() + 100ms);
    if (!m) continue;
    c.acknowledge(*m);
    consumed_.insert(std::string(as_chars(m->payload)));
    changed_.notify_all();
  }
  consumer_finished_ = true;
  changed_.notify_all();
}

asio::awaitable<void> receipt_ledger::send(client::producer& p, const std::string& payload,
                                           std::chrono::milliseconds patience) {
  const auto deadline = clock::now() + patience;
  while (in_flight_ >= window && clock::now() < deadline) co_await changed_.wait_until(deadline);
  // A named callback: GCC 12 mis-destroys lambda temporaries with captures in co_await calls.
  client::send_callback on_receipt = [this, payload](result<wire::message_id> r) {
    --in_flight_;
    if (r) {
      receipted_.insert(payload);
    } else {
      ++send_failures_;
    }
    changed_.notify_all();
  };
  ++in_flight_;
  client::outgoing_message m{.payload = bytes(payload.begin(), payload.end())};
  co_await p.send_async(std::move(m), std::move(on_receipt));
}

bool receipt_ledger::all_consumed() const {
  return std::ranges::includes(consumed_, receipted_);
}

asio::awaitable<void> receipt_ledger::finish(std::chrono::milliseconds patience) {
  const auto deadline = clock::now() + patience;
  while (!all_consumed() && clock::now() < deadline) co_await changed_.wait_until(deadline);
  consuming_ = false;
  while (!consumer_finished_) co_await changed_.wait();
}

std::vector<std::string> receipt_ledger::lost() const {
  std::vector<std::string> out;
  std::ranges::set_difference(receipted_, consumed_, std::back_inserter(out));
  return out;
}

}  // namespace shfn::testing
