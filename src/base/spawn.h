#pragma once
// Background work its owner waits for: spawn_held(ex, g, work) starts the coroutine `work`
// detached on `ex` and holds the gate `g` (notifier.h) until it has finished, so the owner's
// `co_await g.close()` returns only once nothing it started still runs. The one way the client,
// function instances and the flow runtime start loops they do not await.
//
// `work` is made before it is handed over and starts suspended: `spawn_held(ex, gate_, loop())`
// runs loop() on `ex`, not in the caller.

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <utility>

#include "base/notifier.h"

namespace shfn {

namespace detail {
inline asio::awaitable<void> run_held(asio::awaitable<void> work, gate::holder) {
  co_await std::move(work);
}
}  // namespace detail

template <class Executor>
void spawn_held(const Executor& ex, gate& g, asio::awaitable<void> work) {
  asio::co_spawn(ex, detail::run_held(std::move(work), g.enter()), asio::detached);
}

}  // namespace shfn
