#pragma once
// Wake-ups between coroutines on one executor: the awaitable counterpart of a condition variable.
// Single-threaded by design: every waiter and notifier runs on the same strand/io_context thread,
// so checking a condition and then waiting needs no lock. Waiters always re-check their condition.

#include <algorithm>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

namespace shfn {

using clock = std::chrono::steady_clock;

class notifier {
 public:
  void notify_all() {
    for (auto* t : waiters_) t->cancel();
  }

  // Returns after notify_all(), cancellation, or at the deadline; false only on the deadline.
  asio::awaitable<bool> wait_until(clock::time_point deadline) {
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    waiters_.push_back(&timer);
    struct unregister {
      notifier* self;
      asio::steady_timer* t;
      ~unregister() { std::erase(self->waiters_, t); }
    } guard{this, &timer};
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return static_cast<bool>(ec);
  }

  asio::awaitable<void> wait() { co_await wait_until(clock::time_point::max()); }

 private:
  std::vector<asio::steady_timer*> waiters_;
};

// Waits for `d` on the current executor (cancellation ends the wait early, silently).
inline asio::awaitable<void> sleep_for(clock::duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  std::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Lets every handler already queued on the current executor run, then resumes.
inline asio::awaitable<void> yield_now() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

// A value delivered once, awaited by whoever holds the oneshot (usually on its coroutine frame).
template <class T>
class oneshot {
 public:
  void set(T value) {
    if (value_) return;
    value_.emplace(std::move(value));
    ready_.notify_all();
  }
  bool ready() const { return value_.has_value(); }

  // nullopt when the deadline passes first.
  asio::awaitable<std::optional<T>> wait_until(clock::time_point deadline) {
    // (GCC 12 miscompiles co_await inside a compound condition, so keep it a statement.)
    while (!value_) {
      const bool woken = co_await ready_.wait_until(deadline);
      if (!woken && !value_) co_return std::nullopt;
    }
    co_return std::move(value_);
  }

 private:
  std::optional<T> value_;
  notifier ready_;
};

// Counts in-flight background work so that stop() can wait for it: two-phase shutdown.
class gate {
 public:
  class holder {
   public:
    explicit holder(gate* g) : g_(g) { ++g_->count_; }
    holder(holder&& o) noexcept : g_(std::exchange(o.g_, nullptr)) {}
    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;
    holder& operator=(holder&&) = delete;
    ~holder() {
      if (g_ != nullptr && --g_->count_ == 0) g_->idle_.notify_all();
    }

   private:
    gate* g_;
  };

  holder enter() { return holder(this); }
  bool closing() const { return closing_; }
  std::size_t count() const { return count_; }

  // Marks the gate closing and waits until every holder is gone.
  asio::awaitable<void> close() {
    closing_ = true;
    while (count_ > 0) co_await idle_.wait();
  }

 private:
  std::size_t count_ = 0;
  bool closing_ = false;
  notifier idle_;
};

}  // namespace shfn
