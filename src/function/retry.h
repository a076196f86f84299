#pragma once
// How a function instance retries what the broker may refuse for a while (creating a producer,
// subscribing, listing topics, sending): base/retry.h's loop, with a line on the instance's log
// for each failure, until it works or the instance stops. One place for it, so that every retry
// logs and stops the same way.
//
// Threads: the instance's executor.

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "base/retry.h"
#include "function/log_shipper.h"

namespace shfn::function {

template <class T>
using attempt_fn = retry_policy::attempt_fn<std::unique_ptr<T>>;

struct retrier {
  log_shipper& log;
  // The instance's pause (stop() cuts it short) and its retry_initial, doubling up to 10 s.
  retry_policy policy;
  const bool& stopping;

  // Repeats `attempt` until it succeeds (its value) or the instance stops (nullptr), logging each
  // failure as "cannot WHAT: ...; retrying in N ms" at `level` and counting it in `failures`.
  template <class T>
  asio::awaitable<std::unique_ptr<T>> keep_trying(attempt_fn<T> attempt, std::string what,
                                                  log_level level,
                                                  std::uint64_t* failures = nullptr) const {
    if (stopping) co_return nullptr;
    const retry_policy::failure_fn failed = reporter(std::move(what), level, failures);
    auto made = co_await policy.until_done(std::move(attempt), failed);
    co_return made ? std::move(*made) : nullptr;
  }

  // What keep_trying logs and counts for each failure.
  retry_policy::failure_fn reporter(std::string what, log_level level,
                                    std::uint64_t* failures) const {
    return [this, what = std::move(what), level, failures](const std::error_code& error,
                                                           std::chrono::milliseconds delay) {
      if (failures != nullptr) ++*failures;
      log.post(level, "cannot " + what + ": " + error.message() + "; retrying in " +
                          std::to_string(delay.count()) + " ms");
    };
  }
};

}  // namespace shfn::function
