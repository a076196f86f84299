// Command sources against a real embedded broker (in-process, port 0) and real bash commands:
// the lines printed while the broker restarts are all stored, in order; the command's
// environment is SinkBinding's; a command that ignores SIGTERM is killed. Every wait is on a
// condition with a deadline that only bounds a broken run.

#include "flow/command_source.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "base/notifier.h"
#include "base/temp_dir.h"
#include "broker/broker.h"
#include "client/client.h"
#include "client/consumer.h"
#include "event/pulsar_binding.h"
#include "flow/tests/restartable_broker.h"
#include "support/broker_env.h"
#include "support/coro_test.h"

namespace shfn::flow {
namespace {

using asio::awaitable;
using namespace std::chrono_literals;

// Bounds a broken run; never reached by a working one.
constexpr auto patience = 30s;

struct test_broker : testing::restartable_broker {
  test_broker() : restartable_broker("shfn-command-source-test") {}

  std::string topic = "persistent://public/default/" + shfn::testing::unique_topic("lines");
};

config::command_source_spec spec_running(const std::string& script, const test_broker& b) {
  config::command_source_spec spec;
  spec.name = "lines";
  spec.argv = {"bash", "-c", script};
  spec.working_dir = b.dir.path().string();
  spec.source = "/apis/v1/namespaces/default/containersources/lines";
  spec.sink.type = config::sink_spec::kind::topic;
  spec.sink.topic = b.topic;
  return spec;
}

// One source started and run on the test's io_context.
struct driven_source {
  std::unique_ptr<command_source> source;
  bool finished = false;
  notifier changed;
};

awaitable<void> drive(driven_source* d) {
  auto started = co_await d->source->start();
  EXPECT_TRUE(started.has_value()) << (started ? "" : started.error().message());
  if (started) co_await d->source->run();
  d->finished = true;
  d->changed.notify_all();
}

// Until `condition` holds, looking every 10 ms; false once `patience` has passed.
awaitable<bool> eventually(std::function<bool()> condition) {
  const auto deadline = clock::now() + patience;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!condition()) {
    if (clock::now() > deadline) co_return false;
    timer.expires_after(10ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return true;
}

awaitable<bool> stop_and_wait(driven_source* d) {
  d->source->stop();
  const auto deadline = clock::now() + patience;
  while (!d->finished && clock::now() < deadline) co_await d->changed.wait_until(deadline);
  co_return d->finished;
}

// The data of the first `n` events on the topic, from its start.
awaitable<std::vector<std::string>> read_lines(client::client* c, std::string topic,
                                               std::size_t n) {
  const client::consumer_options options{
      .topic = topic, .subscription = "test", .position = client::initial_position::earliest};
  auto consumer = co_await c->subscribe(options);
  EXPECT_TRUE(consumer.has_value());
  std::vector<std::string> out;
  if (!consumer) co_return out;
  const auto deadline = clock::now() + patience;
  while (out.size() < n) {
    auto m = co_await (*consumer)->receive(deadline);
    if (!m) {
      ADD_FAILURE() << "received " << out.size() << " of " << n << ": " << m.error().message();
      break;
    }
    auto decoded = event::decode(m->properties, m->payload);
    EXPECT_TRUE(decoded.has_value());
    if (decoded) out.emplace_back(decoded->event.data.begin(), decoded->event.data.end());
  }
  co_await (*consumer)->close();
  co_return out;
}

class command_source_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(b_.dir.path().empty());
    b_.start("127.0.0.1:0");
  }

  test_broker b_;
};

// 1000 lines with the broker up, 500 more while it is down (they wait in the producer, and the
// command on its pipe), then the broker back on the same data: all 1500 stored, in order.
awaitable<void> broker_restarts(asio::io_context* io, test_broker* b) {
  auto c = client::client::create(io->get_executor(), {.service_url = b->url});
  CO_ASSERT_TRUE(c.has_value());
  const std::string script =
      "for i in $(seq 1 1000); do echo \"line $i\"; done\n"
      "while [ ! -e go ]; do sleep 0.01; done\n"
      "for i in $(seq 1001 1500); do echo \"line $i\"; done\n"
      "exec sleep 1000\n";
  driven_source d;
  d.source = std::make_unique<command_source>(
      **c, spec_running(script, *b),
      command_source_options{.ingress_url = [] { return std::string(); }});
  asio::co_spawn(*io, drive(&d), asio::detached);
  const bool first_stored =
      co_await eventually([&d] { return d.source->counts().written == 1000; });
  CO_ASSERT_TRUE(first_stored);

  const std::string address = b->listen_address();
  b->broker.reset();
  std::ofstream(b->dir / "go").put('\n');
  const bool taken = co_await eventually([&d] { return d.source->counts().received == 1500; });
  EXPECT_TRUE(taken);
  EXPECT_LT(d.source->counts().written, 1500u);

  b->start(address);
  const bool all_stored = co_await eventually([&d] { return d.source->counts().written == 1500; });
  EXPECT_TRUE(all_stored);
  const auto lines = co_await read_lines(c->get(), b->topic, 1500);
  CO_ASSERT_TRUE(lines.size() == 1500);
  for (std::size_t i = 0; i < lines.size(); ++i)
    EXPECT_EQ(lines[i], "line " + std::to_string(i + 1));
  const bool finished = co_await stop_and_wait(&d);
  EXPECT_TRUE(finished);
  (*c)->close();
}

TEST_F(command_source_test, lines_printed_while_the_broker_restarts_are_all_stored_in_order) {
  testing::run_coroutine([this](asio::io_context& io) { return broker_restarts(&io, &b_); });
}

// K_SINK is the ingress URL and the sink's path; K_CE_OVERRIDES the extensions as JSON.
awaitable<void> sink_binding(asio::io_context* io, test_broker* b) {
  auto c = client::client::create(io->get_executor(), {.service_url = b->url});
  CO_ASSERT_TRUE(c.has_value());
  auto spec = spec_running(
      "echo \"K_SINK=$K_SINK\"; echo \"K_CE_OVERRIDES=$K_CE_OVERRIDES\"; "
      "echo \"SHFN_SOURCE=$SHFN_SOURCE\"; echo \"K_CA_CERTS=${K_CA_CERTS-unset}\"; "
      "exec sleep 1000",
      *b);
  spec.sink_url = "/shop/events";
  spec.extensions = {{"team", "core"}};
  driven_source d;
  d.source = std::make_unique<command_source>(
      **c, spec, command_source_options{.ingress_url = [] { return "http://127.0.0.1:8082"; }});
  asio::co_spawn(*io, drive(&d), asio::detached);
  const auto lines = co_await read_lines(c->get(), b->topic, 4);
  EXPECT_EQ(lines, (std::vector<std::string>{"K_SINK=http://127.0.0.1:8082/shop/events",
                                             R"(K_CE_OVERRIDES={"extensions":{"team":"core"}})",
                                             "SHFN_SOURCE=lines", "K_CA_CERTS=unset"}));
  const bool finished = co_await stop_and_wait(&d);
  EXPECT_TRUE(finished);
  (*c)->close();
}

TEST_F(command_source_test, the_command_gets_the_sink_binding_environment) {
  testing::run_coroutine([this](asio::io_context& io) { return sink_binding(&io, &b_); });
}

// A command that ignores SIGTERM is SIGKILLed kill_grace later, and the source stops.
awaitable<void> ignores_sigterm(asio::io_context* io, test_broker* b) {
  auto c = client::client::create(io->get_executor(), {.service_url = b->url});
  CO_ASSERT_TRUE(c.has_value());
  driven_source d;
  d.source = std::make_unique<command_source>(
      **c, spec_running("trap '' TERM; echo up; exec sleep 1000", *b),
      command_source_options{.ingress_url = [] { return std::string(); }, .kill_grace = 100ms});
  asio::co_spawn(*io, drive(&d), asio::detached);
  const bool up = co_await eventually([&d] { return d.source->counts().written == 1; });
  CO_ASSERT_TRUE(up);
  const bool finished = co_await stop_and_wait(&d);
  EXPECT_TRUE(finished);
  const std::string last_exit = d.source->status()["last_exit"];
  EXPECT_TRUE(last_exit.starts_with("the command ended after ")) << last_exit;
  EXPECT_TRUE(last_exit.ends_with(" ms: killed by signal 9 (SIGKILL)")) << last_exit;
  (*c)->close();
}

TEST_F(command_source_test, a_command_that_ignores_sigterm_is_killed) {
  testing::run_coroutine([this](asio::io_context& io) { return ignores_sigterm(&io, &b_); });
}

// The broker gone for good with more lines waiting than the producer holds: a stop still ends,
// drain_timeout later, and says how many were not stored.
awaitable<void> stop_without_a_broker(asio::io_context* io, test_broker* b) {
  auto c = client::client::create(io->get_executor(), {.service_url = b->url});
  CO_ASSERT_TRUE(c.has_value());
  const std::string script =
      "echo up\n"
      "while [ ! -e go ]; do sleep 0.01; done\n"
      "for i in $(seq 1 3000); do echo \"line $i\"; done\n"
      "exec sleep 1000\n";
  driven_source d;
  d.source = std::make_unique<command_source>(
      **c, spec_running(script, *b),
      command_source_options{.ingress_url = [] { return std::string(); }, .drain_timeout = 200ms});
  asio::co_spawn(*io, drive(&d), asio::detached);
  const bool up = co_await eventually([&d] { return d.source->counts().written == 1; });
  CO_ASSERT_TRUE(up);
  b->broker.reset();
  std::ofstream(b->dir / "go").put('\n');
  // The producer holds 1000 without a receipt; then the source waits for room.
  const bool full = co_await eventually([&d] { return d.source->counts().received > 1000; });
  EXPECT_TRUE(full);
  const bool finished = co_await stop_and_wait(&d);
  EXPECT_TRUE(finished);
  EXPECT_EQ(d.source->counts().written, 1u);
  (*c)->close();
}

TEST_F(command_source_test, a_stop_ends_even_when_the_broker_never_comes_back) {
  testing::run_coroutine([this](asio::io_context& io) { return stop_without_a_broker(&io, &b_); });
}

}  // namespace
}  // namespace shfn::flow
