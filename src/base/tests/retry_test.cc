// The one retry loop: attempts until one succeeds, each failure reported with the delay before
// the next attempt (doubling, jittered, capped), and an end when the owner stops. The pause here
// only records: nothing waits on the clock.
#include "base/retry.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <vector>

namespace shfn {
namespace {

using namespace std::chrono_literals;

struct scripted {
  int failures_left = 0;  // attempts that fail before one succeeds
  int attempts = 0;
  int stop_after_pauses = 1000;
  std::vector<std::chrono::milliseconds> pauses;
  std::vector<std::string> reported;

  retry_policy policy() {
    return {.initial = 100ms, .max = 400ms, .pause = [this](std::chrono::milliseconds d) {
              pauses.push_back(d);
              const bool go_on = static_cast<int>(pauses.size()) < stop_after_pauses;
              return [](bool b) -> asio::awaitable<bool> { co_return b; }(go_on);
            }};
  }
  asio::awaitable<result<int>> attempt_once() {
    ++attempts;
    if (failures_left-- > 0) co_return fail(std::make_error_code(std::errc::connection_refused));
    co_return 42;
  }
  retry_policy::attempt_fn<int> attempt() {
    return [this] { return attempt_once(); };
  }
  retry_policy::failure_fn failed() {
    return [this](const std::error_code& e, std::chrono::milliseconds) {
      reported.push_back(e.message());
    };
  }
};

asio::awaitable<void> retry(scripted* s, std::optional<std::error_code> first,
                            std::optional<int>* got) {
  const retry_policy policy = s->policy();
  const auto attempt = s->attempt();
  const auto failed = s->failed();
  if (first) {
    const std::error_code error = *first;
    *got = co_await policy.until_done_after(error, attempt, failed);
  } else {
    *got = co_await policy.until_done(attempt, failed);
  }
}

std::optional<int> run(scripted& s, std::optional<std::error_code> first = std::nullopt) {
  asio::io_context io;
  std::optional<int> got;
  asio::co_spawn(io, retry(&s, first, &got), asio::detached);
  io.run();
  return got;
}

TEST(retry_policy, retries_until_an_attempt_succeeds_with_doubling_capped_delays) {
  scripted s{.failures_left = 5};
  EXPECT_EQ(run(s), 42);
  EXPECT_EQ(s.attempts, 6);
  ASSERT_EQ(s.reported.size(), 5u);
  EXPECT_EQ(s.reported[0], std::make_error_code(std::errc::connection_refused).message());
  ASSERT_EQ(s.pauses.size(), 5u);
  // Full jitter in [next/2, next]: 100, 200, 400, then capped at 400.
  const std::chrono::milliseconds ceilings[] = {100ms, 200ms, 400ms, 400ms, 400ms};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_GE(s.pauses[i], ceilings[i] / 2) << i;
    EXPECT_LE(s.pauses[i], ceilings[i]) << i;
  }
}

TEST(retry_policy, a_first_success_neither_reports_nor_pauses) {
  scripted s;
  EXPECT_EQ(run(s), 42);
  EXPECT_EQ(s.attempts, 1);
  EXPECT_TRUE(s.reported.empty());
  EXPECT_TRUE(s.pauses.empty());
}

TEST(retry_policy, ends_without_a_value_once_the_owner_stops) {
  scripted s{.failures_left = 100, .stop_after_pauses = 3};
  EXPECT_EQ(run(s), std::nullopt);
  EXPECT_EQ(s.attempts, 3) << "no attempt after the pause that said stop";
}

TEST(retry_policy, a_first_attempt_made_by_the_caller_counts_as_the_first_failure) {
  scripted s;
  EXPECT_EQ(run(s, std::make_error_code(std::errc::no_space_on_device)), 42);
  EXPECT_EQ(s.attempts, 1) << "the loop's own attempt comes after the first pause";
  ASSERT_EQ(s.reported.size(), 1u);
  EXPECT_EQ(s.reported[0], std::make_error_code(std::errc::no_space_on_device).message());
  EXPECT_EQ(s.pauses.size(), 1u);
}

}  // namespace
}  // namespace shfn
