#pragma once
// The one retry loop, for what a broker may refuse for a while (a producer name still held, a
// topic being unloaded, a restart, a full disk): attempts with exponential back-off and full
// jitter between them (backoff.h), each failure told to the caller with the delay before the
// next attempt, until one succeeds or the owner stops.
//
// Function instances (subscribing, producers, publishing; function/retry.h), the log shipper,
// cron sources and the client's dead-letter producer retry through it. The client's start-up
// and reconnect loops are another kind: bounded by operation_timeout, they give up on errors
// that cannot pass (client/reconnect.h).
//
// Threads: the caller's executor.

#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <system_error>
#include <utility>

#include "base/backoff.h"
#include "base/result.h"

namespace shfn {

struct retry_policy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{std::chrono::seconds(10)};
  // Waits the given delay, or less once the owner stops; false when it is stopping.
  std::function<asio::awaitable<bool>(std::chrono::milliseconds)> pause;

  template <class T>
  using attempt_fn = std::function<asio::awaitable<result<T>>()>;
  using failure_fn = std::function<void(const std::error_code& error, std::chrono::milliseconds)>;

  // Calls `attempt` until it succeeds (its value) or `pause` says the owner stops (nullopt).
  // `failed` hears of each failure and the delay before the next attempt. Pass named
  // std::functions, not lambdas: GCC 12 destroys temporaries passed to coroutines twice.
  template <class T>
  asio::awaitable<std::optional<T>> until_done(attempt_fn<T> attempt, failure_fn failed) const {
    const std::error_code none;
    co_return co_await until_done_after(none, std::move(attempt), std::move(failed));
  }

  // The same when the caller made the first attempt itself and it failed with `first`: a hot
  // path (a send per message) then builds no loop until something fails.
  template <class T>
  asio::awaitable<std::optional<T>> until_done_after(std::error_code first, attempt_fn<T> attempt,
                                                     failure_fn failed) const {
    backoff delays(initial, max);
    std::error_code error = first;
    for (;;) {
      if (!error) {
        auto outcome = co_await attempt();
        if (outcome) co_return std::move(*outcome);
        error = outcome.error();
      }
      const auto delay = delays.next();
      failed(error, delay);
      error.clear();
      const bool go_on = co_await pause(delay);
      if (!go_on) co_return std::nullopt;
    }
  }
};

}  // namespace shfn
