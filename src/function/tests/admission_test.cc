// How many messages an instance takes at once, and the order of an ordered lane, without a
// broker: the windows each mode gets, room while both windows have space, a retry waiting for a
// run slot, and a lane letting its messages go in the order they were taken whatever order they
// ask in.

#include "function/admission.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <string>
#include <vector>

namespace shfn::function {
namespace {

config::function_spec with(int parallelism, config::run_mode mode) {
  config::function_spec s;
  s.parallelism = parallelism;
  s.mode = mode;
  return s;
}

TEST(admission, each_mode_gets_its_windows) {
  const auto exec = admission::for_spec(with(4, config::run_mode::exec), false);
  EXPECT_EQ(exec.lanes, 4u);
  EXPECT_EQ(exec.run_slots, 4u) << "one process per slot";
  const auto stream = admission::for_spec(with(2, config::run_mode::stream), false);
  EXPECT_EQ(stream.run_slots, 2 * admission::stream_pipeline_depth);
  const auto ordered = admission::for_spec(with(2, config::run_mode::exec), true);
  EXPECT_GT(ordered.run_slots, 2u) << "a queue per lane";
  const auto filter = admission::for_spec(with(1, config::run_mode::exec), false, true);
  EXPECT_EQ(filter.run_slots, admission::stream_pipeline_depth) << "a step answering at once";
  for (const auto& s : {exec, stream, ordered, filter}) {
    EXPECT_GT(s.max_in_flight, s.run_slots) << "outputs waiting for receipts do not hold slots";
  }
}

TEST(admission, there_is_room_while_both_windows_have_space) {
  admission a({.lanes = 1, .run_slots = 2, .max_in_flight = 3});
  a.admit();
  a.admit();
  EXPECT_FALSE(a.has_room()) << "no run slot";
  a.release_run_slot();  // the first waits for its receipt
  EXPECT_TRUE(a.has_room());
  a.admit();
  a.release_run_slot();
  EXPECT_TRUE(a.window_full());
  EXPECT_FALSE(a.has_room()) << "no in-flight place, though a run slot is free";
  a.done(false);
  EXPECT_TRUE(a.has_room());
  EXPECT_EQ(a.in_flight(), 2u);
  EXPECT_EQ(a.running(), 1u);
}

TEST(admission, a_retry_waits_for_a_run_slot) {
  asio::io_context io;
  admission a({.lanes = 1, .run_slots = 1, .max_in_flight = 4});
  a.admit();
  a.release_run_slot();  // waiting before its retry
  a.admit();             // another message took the slot meanwhile
  bool retried = false;
  asio::co_spawn(
      io,
      [](admission* a, bool* retried) -> asio::awaitable<void> {
        co_await a->take_run_slot();
        *retried = true;
      }(&a, &retried),
      asio::detached);
  io.run_for(std::chrono::milliseconds(20));
  io.restart();
  EXPECT_FALSE(retried) << "the slot is taken";
  a.done(true);
  io.run();
  EXPECT_TRUE(retried);
  EXPECT_EQ(a.running(), 1u);
}

// A message of an ordered lane: takes its turn, records that it ran, and leaves the lane when
// `leave` is set (a script still running holds the lane).
asio::awaitable<void> lane_message(admission* a, std::size_t lane, std::uint64_t ticket,
                                   std::vector<const char*>* ran, const char* name,
                                   const bool* leave, notifier* left) {
  co_await a->wait_turn(lane, ticket);
  ran->push_back(name);
  while (!*leave) co_await left->wait();
  a->leave_lane(lane);
}

TEST(admission, a_lane_runs_one_message_at_a_time_in_order_and_holds_up_no_other_lane) {
  asio::io_context io;
  admission a({.lanes = 2, .run_slots = 8, .max_in_flight = 8});
  std::vector<const char*> ran;
  bool first_done = false;
  const bool never_held = true;
  notifier left;
  asio::co_spawn(io, lane_message(&a, 0, a.next_ticket(), &ran, "first", &first_done, &left),
                 asio::detached);
  asio::co_spawn(io, lane_message(&a, 0, a.next_ticket(), &ran, "second", &never_held, &left),
                 asio::detached);
  asio::co_spawn(io, lane_message(&a, 1, a.next_ticket(), &ran, "other lane", &never_held, &left),
                 asio::detached);
  io.run_for(std::chrono::milliseconds(20));
  io.restart();
  EXPECT_EQ(ran, (std::vector<const char*>{"first", "other lane"}))
      << "the second waits for the first; the other lane does not";
  first_done = true;
  left.notify_all();
  io.run();
  EXPECT_EQ(ran, (std::vector<const char*>{"first", "other lane", "second"}));
}

}  // namespace
}  // namespace shfn::function
