#include "support/receipt_ledger.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <iterator>

#include "base/notifier.h"

namespace shfn::testing {

using namespace std::chrono_literals;

void receipt_ledger::start_consuming(asio::io_context& io, client::consumer& c) {
  asio::co_spawn(io, consume(c), asio::detached);
}

asio::awaitable<void> receipt_ledger::consume(client::consumer& c) {
  while (consuming_) {
    auto m = co_await c.receive(clock::now() + 100ms);
    if (!m) continue;
    c.acknowledge(*m);
    consumed_.insert(std::string(as_chars(m->payload)));
  }
  consumer_finished_ = true;
}

asio::awaitable<void> receipt_ledger::send(client::producer& p, const std::string& payload) {
  // A named callback: GCC 12 mis-destroys lambda temporaries with captures in co_await calls.
  client::send_callback on_receipt = [this, payload](result<wire::message_id> r) {
    if (r) {
      receipted_.insert(payload);
    } else {
      ++send_failures_;
    }
  };
  client::outgoing_message m{.payload = bytes(payload.begin(), payload.end())};
  co_await p.send_async(std::move(m), std::move(on_receipt));
}

asio::awaitable<void> receipt_ledger::finish(std::chrono::milliseconds patience) {
  const auto deadline = clock::now() + patience;
  while (clock::now() < deadline && !std::ranges::includes(consumed_, receipted_)) {
    co_await sleep_for(50ms);
  }
  consuming_ = false;
  while (!consumer_finished_) co_await sleep_for(20ms);
}

std::vector<std::string> receipt_ledger::lost() const {
  std::vector<std::string> out;
  std::ranges::set_difference(receipted_, consumed_, std::back_inserter(out));
  return out;
}

}  // namespace shfn::testing
