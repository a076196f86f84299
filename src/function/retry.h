#pragma once
// How a function instance retries what the broker may refuse for a while (creating a producer,
// subscribing, listing topics, sending): with back-off, a log line each time, until it works or
// the instance stops. One place for it, so that every retry logs and stops the same way.
//
// Threads: the instance's executor.

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/backoff.h"
#include "base/result.h"
#include "function/log_shipper.h"

namespace shfn::function {

template <class T>
using attempt_fn = std::function<asio::awaitable<result<std::unique_ptr<T>>>()>;

struct retrier {
  log_shipper& log;
  std::chrono::milliseconds initial;
  // Waits the given time, or less once the instance stops; false when it is stopping.
  std::function<asio::awaitable<bool>(std::chrono::milliseconds)> pause;
  const bool& stopping;

  // Repeats `attempt` until it succeeds (its value) or the instance stops (nullptr), logging each
  // failure as "cannot WHAT: ...; retrying in N ms" at `level` and counting it in `failures`.
  template <class T>
  asio::awaitable<std::unique_ptr<T>> keep_trying(attempt_fn<T> attempt, std::string what,
                                                  log_level level,
                                                  std::uint64_t* failures = nullptr) const {
    backoff delays(initial, std::chrono::seconds(10));
    while (!stopping) {
      auto made = co_await attempt();
      if (made) co_return std::move(*made);
      if (failures != nullptr) ++*failures;
      const auto delay = delays.next();
      log.post(level, "cannot " + what + ": " + made.error().message() + "; retrying in " +
                          std::to_string(delay.count()) + " ms");
      co_await pause(delay);
    }
    co_return nullptr;
  }
};

}  // namespace shfn::function
