// One function instance in-process, against a real embedded broker (port 0) and real bash
// scripts: failures retried and then dead-lettered, an ordered function's retries in place
// keeping the order, a drain deadline that leaves an unfinished message for redelivery, and
// EFFECTIVELY_ONCE outputs stored once when the same inputs are processed again. Every wait is on
// a condition with a deadline that only bounds a broken run.

#include "function/function_instance.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "base/notifier.h"
#include "base/temp_dir.h"
#include "broker/broker.h"
#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "support/broker_env.h"
#include "support/coro_test.h"

namespace shfn::function {
namespace {

using asio::awaitable;
using namespace std::chrono_literals;

// Bounds a broken run; never reached by a working one.
constexpr auto patience = 20s;

std::string text(const bytes& b) {
  return std::string(b.begin(), b.end());
}

std::string property(const client::message& m, const std::string& name) {
  for (const auto& [k, v] : m.properties) {
    if (k == name) return v;
  }
  return "<unset>";
}

// The embedded broker, a scratch directory, and topics of the test's own.
struct function_instance_test : ::testing::Test {
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    std::filesystem::create_directories(dir_ / "scratch");
    auto started = broker::broker_thread::start({.listen = "127.0.0.1:0",
                                                 .data_dir = dir_ / "data",
                                                 .admin = "",
                                                 .sync = broker::sync_mode::none});
    ASSERT_TRUE(started) << started.error().message();
    broker_ = std::move(*started);
  }

  // A function running `script` (bash) on `in`, publishing to `out`.
  config::function_spec spec(const std::string& script) const {
    config::function_spec s;
    s.name = "fn";
    s.argv = {"bash", "-c", script, "fn"};
    s.inputs = {in_};
    s.output = out_;
    s.subscription_name = "fn";
    s.subscription_earliest = true;
    s.working_dir = dir_.path().string();
    s.env = {{"MARKS", (dir_ / "marks").string()}};
    std::filesystem::create_directories(dir_ / "marks");
    return s;
  }

  instance_options options() const {
    return {.scratch_dir = (dir_ / "scratch").string(), .retry_initial = 10ms, .retry_max = 50ms};
  }

  awaitable<std::unique_ptr<client::client>> connect(asio::io_context* io) {
    auto c = client::client::create(io->get_executor(), {.service_url = broker_->service_url()});
    EXPECT_TRUE(c) << c.error().message();
    co_return c ? std::move(*c) : nullptr;
  }

  temp_dir dir_{"shfn-function-instance"};
  std::unique_ptr<broker::broker_thread> broker_;
  std::string in_ = "persistent://public/default/" + shfn::testing::unique_topic("in");
  std::string out_ = "persistent://public/default/" + shfn::testing::unique_topic("out");
};

// A short pause between looks at a condition that has no notifier of its own.
awaitable<void> nap() {
  asio::steady_timer timer(co_await asio::this_coro::executor, 10ms);
  co_await timer.async_wait(asio::use_awaitable);
}

// An instance started and run on the test's io_context until stopped.
struct running {
  std::unique_ptr<function_instance> instance;
  bool done = false;
  notifier finished;
};

awaitable<bool> start(running* r, client::client* c, config::function_spec s, instance_options o) {
  r->instance = std::make_unique<function_instance>(*c, std::move(s), std::move(o));
  auto started = co_await r->instance->start();
  EXPECT_TRUE(started) << started.error().message();
  if (!started) co_return false;
  asio::co_spawn(
      co_await asio::this_coro::executor,
      [](running* self) -> awaitable<void> {
        co_await self->instance->run();
        self->done = true;
        self->finished.notify_all();
      }(r),
      asio::detached);
  co_return true;
}

awaitable<void> stop(running* r, clock::duration drain) {
  r->instance->stop(clock::now() + drain);
  const auto deadline = clock::now() + patience;
  while (!r->done && clock::now() < deadline) co_await r->finished.wait_until(deadline);
  EXPECT_TRUE(r->done) << "run() did not return";
}

awaitable<void> send(client::client* c, std::string topic, std::vector<std::string> payloads) {
  const client::producer_options options{.topic = topic};  // named: see coro_test.h
  auto p = co_await c->create_producer(options);
  CO_ASSERT_OK(p);
  for (const auto& payload : payloads) {
    client::outgoing_message m{.payload = bytes(payload.begin(), payload.end())};
    auto sent = co_await (*p)->send(std::move(m));
    CO_ASSERT_OK(sent);
  }
  co_await (*p)->close();
}

// Up to `count` messages of `topic` from the start, acked; fewer if nothing comes for `idle`.
awaitable<std::vector<client::message>> read(client::client* c, std::string topic,
                                             std::size_t count, clock::duration idle = patience) {
  std::vector<client::message> got;
  const client::consumer_options options{.topic = topic,
                                         .subscription = shfn::testing::unique_topic("reader"),
                                         .position = client::initial_position::earliest};
  auto consumer = co_await c->subscribe(options);
  EXPECT_TRUE(consumer) << consumer.error().message();
  if (!consumer) co_return got;
  while (got.size() < count) {
    auto m = co_await (*consumer)->receive(clock::now() + idle);
    if (!m) break;
    (*consumer)->acknowledge(*m);
    got.push_back(std::move(*m));
  }
  co_await (*consumer)->unsubscribe();
  co_return got;
}

awaitable<void> a_failing_message_is_retried_then_dead_lettered_with_why(
    asio::io_context* io, function_instance_test* t) {
  auto c = co_await t->connect(io);
  auto s = t->spec("echo 'not today' >&2; exit 3");
  s.max_message_retries = 2;
  s.dead_letter_topic = t->out_ + "-dlq";
  running r;
  const bool started = co_await start(&r, c.get(), s, t->options());
  CO_ASSERT_TRUE(started);
  const std::vector<std::string> inputs{std::string("doomed")};
  co_await send(c.get(), t->in_, inputs);
  const auto parked = co_await read(c.get(), s.dead_letter_topic, 1);
  CO_ASSERT_TRUE(parked.size() == 1);
  EXPECT_EQ(text(parked[0].payload), "doomed");
  EXPECT_EQ(property(parked[0], "SHFN_EXIT_CODE"), "3");
  EXPECT_EQ(property(parked[0], "SHFN_ATTEMPTS"), "3") << "the first try and two retries";
  EXPECT_NE(property(parked[0], "SHFN_STDERR_TAIL").find("not today"), std::string::npos);
  co_await stop(&r, 5s);
  EXPECT_EQ(r.instance->metrics().user_exceptions, 3u);
  EXPECT_EQ(r.instance->metrics().dead_lettered, 1u);
  const auto outputs = co_await read(c.get(), t->out_, 1, 200ms);
  EXPECT_TRUE(outputs.empty()) << "no output for a failure";
}
TEST_F(function_instance_test, a_failing_message_is_retried_then_dead_lettered_with_why) {
  shfn::testing::run_coroutine([this](asio::io_context& io) {
    return a_failing_message_is_retried_then_dead_lettered_with_why(&io, this);
  });
}

awaitable<void> an_ordered_function_retries_in_place_and_keeps_the_order(
    asio::io_context* io, function_instance_test* t) {
  auto c = co_await t->connect(io);
  // Every message fails its first attempt (a mark is left for the second).
  auto s = t->spec(
      "p=$(cat); if [ ! -e \"$MARKS/$p\" ]; then touch \"$MARKS/$p\"; exit 1; fi; "
      "printf '%s' \"$p\"");
  s.retain_ordering = true;
  s.parallelism = 2;
  s.max_message_retries = 5;
  std::vector<std::string> payloads;
  for (int i = 0; i < 20; ++i) payloads.push_back("m" + std::to_string(i));
  co_await send(c.get(), t->in_, payloads);
  running r;
  const bool started = co_await start(&r, c.get(), s, t->options());
  CO_ASSERT_TRUE(started);
  const auto outputs = co_await read(c.get(), t->out_, payloads.size());
  std::vector<std::string> got;
  for (const auto& m : outputs) got.push_back(text(m.payload));
  EXPECT_EQ(got, payloads);
  co_await stop(&r, 5s);
  EXPECT_EQ(r.instance->metrics().processed_successfully, payloads.size());
  EXPECT_EQ(r.instance->metrics().user_exceptions, payloads.size());
}
TEST_F(function_instance_test, an_ordered_function_retries_in_place_and_keeps_the_order) {
  shfn::testing::run_coroutine([this](asio::io_context& io) {
    return an_ordered_function_retries_in_place_and_keeps_the_order(&io, this);
  });
}

awaitable<void> past_the_drain_deadline_an_unfinished_message_stays_for_redelivery(
    asio::io_context* io, function_instance_test* t) {
  auto c = co_await t->connect(io);
  auto s = t->spec("touch \"$MARKS/started\"; exec sleep 30");
  running r;
  const bool started = co_await start(&r, c.get(), s, t->options());
  CO_ASSERT_TRUE(started);
  const std::vector<std::string> inputs{std::string("slow")};
  co_await send(c.get(), t->in_, inputs);
  const auto deadline = clock::now() + patience;
  while (!std::filesystem::exists(t->dir_ / "marks" / "started") && clock::now() < deadline) {
    co_await nap();
  }
  CO_ASSERT_TRUE(r.instance->in_flight() == 1);
  co_await stop(&r, 100ms);  // the script is stopped, not waited for
  EXPECT_EQ(r.instance->metrics().processed_successfully, 0u);
  EXPECT_EQ(r.instance->metrics().user_exceptions, 0u) << "the shutdown is not its fault";
  // Not acknowledged: the function's subscription hands it to whoever comes next.
  const client::consumer_options same{.topic = t->in_, .subscription = "fn"};
  auto next = co_await c->subscribe(same);
  CO_ASSERT_OK(next);
  auto m = co_await (*next)->receive(clock::now() + patience);
  EXPECT_TRUE(m.has_value());
  if (m) {
    EXPECT_EQ(text(m->payload), "slow");
  }
  co_await (*next)->close();  // a consumer must be closed before it goes (its loops use it)
}
TEST_F(function_instance_test, past_the_drain_deadline_an_unfinished_message_stays_for_redelivery) {
  shfn::testing::run_coroutine([this](asio::io_context& io) {
    return past_the_drain_deadline_an_unfinished_message_stays_for_redelivery(&io, this);
  });
}

awaitable<void> effectively_once_outputs_are_stored_once_when_inputs_run_again(
    asio::io_context* io, function_instance_test* t) {
  auto c = co_await t->connect(io);
  auto s = t->spec("tr a-z A-Z");
  s.guarantees = config::guarantee::effectively_once;
  const std::vector<std::string> inputs{std::string("one"), std::string("two"),
                                        std::string("three")};
  co_await send(c.get(), t->in_, inputs);
  const std::vector<std::string> subscriptions{std::string("first"), std::string("second")};
  for (const auto& subscription : subscriptions) {
    // Another subscription reads the same inputs again, as after a lost acknowledgement.
    s.subscription_name = subscription;
    running r;
    const bool started = co_await start(&r, c.get(), s, t->options());
    CO_ASSERT_TRUE(started);
    const auto deadline = clock::now() + patience;
    while (r.instance->metrics().processed_successfully < 3 && clock::now() < deadline) {
      co_await nap();
    }
    EXPECT_EQ(r.instance->metrics().processed_successfully, 3u) << subscription;
    co_await stop(&r, 5s);
  }
  const auto outputs = co_await read(c.get(), t->out_, 6, 500ms);
  std::vector<std::string> got;
  for (const auto& m : outputs) got.push_back(text(m.payload));
  EXPECT_EQ(got, (std::vector<std::string>{"ONE", "TWO", "THREE"}));
}
TEST_F(function_instance_test, effectively_once_outputs_are_stored_once_when_inputs_run_again) {
  shfn::testing::run_coroutine([this](asio::io_context& io) {
    return effectively_once_outputs_are_stored_once_when_inputs_run_again(&io, this);
  });
}

}  // namespace
}  // namespace shfn::function
