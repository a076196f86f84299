#include "base/notifier.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

namespace shfn {
namespace {

using namespace std::chrono_literals;

// The tests' coroutines: named, taking what they use by pointer (each test's frame outlives its
// io.run()), as coroutines that capture nothing.
asio::awaitable<void> wait_for_both(oneshot<int>* early, oneshot<int>* late,
                                    std::optional<int>* got_early, std::optional<int>* got_late) {
  *got_early = co_await early->wait_until(clock::now() + 1s);
  *got_late = co_await late->wait_until(clock::now() + 5s);
}

asio::awaitable<void> wait_in_vain(oneshot<int>* never, bool* timed_out) {
  *timed_out = !(co_await never->wait_until(clock::now() + 10ms)).has_value();
}

asio::awaitable<void> close_gate(gate* g, bool* closed) {
  co_await g->close();
  *closed = true;
}

TEST(oneshot, delivers_a_value_set_before_or_after_the_wait) {
  asio::io_context io;
  oneshot<int> early;
  early.set(7);
  oneshot<int> late;
  std::optional<int> got_early, got_late;
  asio::co_spawn(io, wait_for_both(&early, &late, &got_early, &got_late), asio::detached);
  asio::post(io, [&] { late.set(42); });
  io.run();
  EXPECT_EQ(got_early, 7);
  EXPECT_EQ(got_late, 42);
}

TEST(oneshot, times_out_when_nobody_sets_it) {
  asio::io_context io;
  oneshot<int> never;
  bool timed_out = false;
  asio::co_spawn(io, wait_in_vain(&never, &timed_out), asio::detached);
  io.run();
  EXPECT_TRUE(timed_out);
}

TEST(gate, close_waits_for_every_holder) {
  asio::io_context io;
  gate g;
  auto h = std::make_unique<gate::holder>(g.enter());
  bool closed = false;
  asio::co_spawn(io, close_gate(&g, &closed), asio::detached);
  io.poll();
  EXPECT_FALSE(closed);
  EXPECT_TRUE(g.closing());
  h.reset();
  io.run();
  EXPECT_TRUE(closed);
}

}  // namespace
}  // namespace shfn
