#pragma once
// The reconnect loop shared by partition producers and consumers: whenever the handle has lost its
// connection (conn == nullptr) and is not closing, wait out the back-off and try to re-register
// with the broker (a fresh lookup, then PRODUCER or SUBSCRIBE), until it works or the handle
// closes. Connection loss and close() both notify `wake`.

#include <asio/awaitable.hpp>
#include <memory>

#include "base/backoff.h"
#include "base/notifier.h"
#include "base/result.h"

namespace shfn::client {

class connection;

struct reconnect_state {
  const bool& closing;
  const std::shared_ptr<connection>& conn;
  notifier& wake;
  backoff& delay;
};

// `attempt()` returns awaitable<result<void>>; `report(const result<void>&)` logs the outcome.
template <class Attempt, class Report>
asio::awaitable<void> keep_connected(reconnect_state s, Attempt attempt, Report report) {
  while (!s.closing) {
    if (s.conn) {
      co_await s.wake.wait();
      continue;
    }
    co_await sleep_for(s.delay.next());
    if (s.closing) break;
    const result<void> outcome = co_await attempt();
    if (outcome) s.delay.reset();
    report(outcome);
  }
}

}  // namespace shfn::client
