// The embedded broker (`shfn broker`, a real process) killed with SIGKILL and started again on
// the same data: every message that got a receipt is still there, only unacknowledged messages
// come back, and a torn record at the end of the log is cut away on restart.

#include <signal.h>

#include <asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "support/broker_env.h"
#include "support/coro_test.h"
#include "support/process.h"
#include "support/receipt_ledger.h"

namespace shfn::client {
namespace {

using asio::awaitable;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// `shfn broker` on a fixed port and data directory, so a restart looks like the same broker.
class broker_process {
 public:
  broker_process()
      : dir_(fs::temp_directory_path() / shfn::testing::unique_topic("shfn-crash-test")),
        port_(shfn::testing::free_port()) {}
  ~broker_process() {
    proc_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  bool start() {
    proc_ = shfn::testing::child_process::spawn({SHFN_BIN_PATH, "broker", "--listen",
                                                 "127.0.0.1:" + std::to_string(port_), "--data-dir",
                                                 dir_.string(), "--admin", "off"});
    if (!proc_) return false;
    auto line = proc_->read_line(20s);
    return line && line->starts_with("shfn broker ready");
  }
  void kill9() {
    if (proc_) proc_->kill_and_wait(SIGKILL);
    proc_.reset();
  }
  std::string url() const { return "pulsar://127.0.0.1:" + std::to_string(port_); }

  // Appends half a record to the topic's newest segment, as a write cut short by a crash would.
  bool tear_tail(const std::string& topic) {
    const fs::path log = dir_ / "topics/persistent/public/default" / topic / "log";
    std::error_code ec;
    fs::path newest;
    for (const auto& f : fs::directory_iterator(log, ec)) {
      if (f.path().extension() == ".seg" && f.path() > newest) newest = f.path();
    }
    if (newest.empty()) return false;
    std::ofstream out(newest, std::ios::binary | std::ios::app);
    const char torn[] = {0, 0, 0x10, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0, 0};
    out.write(torn, sizeof torn);
    return static_cast<bool>(out);
  }

 private:
  fs::path dir_;
  int port_;
  std::optional<shfn::testing::child_process> proc_;
};

outgoing_message text(std::string s) {
  return {.payload = bytes(s.begin(), s.end())};
}

client_options options_for(const broker_process& b) {
  return {.service_url = b.url(),
          .operation_timeout = 20s,
          .initial_backoff = 50ms,
          .max_backoff = 500ms};
}

class embedded_crash : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(broker.start()) << "shfn broker did not start"; }
  broker_process broker;
};

// ------------------------------------------------------------------------------ acked stay acked

awaitable<void> only_unacked_messages_come_back(asio::io_context& io, broker_process& broker) {
  const std::string topic = shfn::testing::unique_topic("crash-acks");
  {
    auto c = client::create(io.get_executor(), options_for(broker));
    CO_ASSERT_OK(c);
    const consumer_options co{
        .topic = topic, .subscription = "s", .position = initial_position::earliest};
    auto cons = co_await (*c)->subscribe(co);
    CO_ASSERT_OK(cons);
    const producer_options po{.topic = topic};
    auto prod = co_await (*c)->create_producer(po);
    CO_ASSERT_OK(prod);
    for (int i = 0; i < 100; ++i) CO_ASSERT_OK(co_await (*prod)->send(text(std::to_string(i))));
    for (int i = 0; i < 50; ++i) {
      auto m = co_await (*cons)->receive(clock::now() + 10s);
      CO_ASSERT_OK(m);
      (*cons)->acknowledge(*m);
    }
    // Closing is a request the broker answers after the acks before it: they have arrived.
    co_await (*cons)->close();
    co_await (*prod)->close();
    (*c)->close();
  }
  broker.kill9();
  CO_ASSERT_TRUE(broker.start());

  auto c = client::create(io.get_executor(), options_for(broker));
  CO_ASSERT_OK(c);
  const consumer_options co{.topic = topic, .subscription = "s"};
  auto cons = co_await (*c)->subscribe(co);
  CO_ASSERT_OK(cons);
  std::vector<std::string> again;
  for (;;) {
    auto m = co_await (*cons)->receive(clock::now() + 2s);
    if (!m) break;
    again.emplace_back(as_chars(m->payload));
    (*cons)->acknowledge(*m);
  }
  std::vector<std::string> expected;
  for (int i = 50; i < 100; ++i) expected.push_back(std::to_string(i));
  EXPECT_EQ(again, expected);
  co_await (*cons)->close();
  (*c)->close();
}

TEST_F(embedded_crash, after_kill_9_only_unacked_messages_are_redelivered) {
  shfn::testing::run_coroutine(
      [this](asio::io_context& io) { return only_unacked_messages_come_back(io, broker); });
}

// ------------------------------------------------------------------------------ crash loop

struct crash_loop_state {
  int crashes_done = 0;
  bool crashing = false;
  bool restart_failed = false;
  std::size_t receipts_at_last_restart = 0;
};

// Kills the broker and starts it again on a worker thread; the second crash also tears the
// log's tail. Reports back on the io_context.
void crash_in_background(asio::io_context& io, broker_process& broker, crash_loop_state& s,
                         const shfn::testing::receipt_ledger& ledger, const std::string& topic,
                         std::thread& worker) {
  s.crashing = true;
  if (worker.joinable()) worker.join();
  const bool tear = s.crashes_done == 1;
  worker = std::thread([&io, &broker, &s, &ledger, topic, tear] {
    broker.kill9();
    if (tear) broker.tear_tail(topic);
    const bool ok = broker.start();
    asio::post(io, [&s, &ledger, ok] {
      s.crashing = false;
      s.restart_failed = !ok;
      ++s.crashes_done;
      s.receipts_at_last_restart = ledger.receipts();
    });
  });
}

constexpr int crash_count = 3;
constexpr std::size_t receipts_between_crashes = 300;

awaitable<void> stream_through_crashes(asio::io_context& io, broker_process& broker) {
  const std::string topic = shfn::testing::unique_topic("crash-loop");
  auto stream = co_await shfn::testing::message_stream::open(io, options_for(broker), topic);
  CO_ASSERT_OK(stream);
  auto& prod = stream->producer;

  shfn::testing::receipt_ledger ledger;
  ledger.start_consuming(io, *stream->consumer);
  crash_loop_state s;
  std::thread worker;
  for (int i = 0; !s.restart_failed; ++i) {
    const std::size_t since = ledger.receipts() - s.receipts_at_last_restart;
    if (!s.crashing && since >= receipts_between_crashes) {
      if (s.crashes_done == crash_count) break;
      crash_in_background(io, broker, s, ledger, topic, worker);
    }
    co_await ledger.send(*prod, "m-" + std::to_string(i));
  }
  if (worker.joinable()) worker.join();
  CO_ASSERT_TRUE(!s.restart_failed);
  CO_ASSERT_OK(co_await prod->flush());

  co_await ledger.finish(60s);
  EXPECT_EQ(s.crashes_done, crash_count);
  EXPECT_EQ(ledger.send_failures(), 0);
  const auto lost = ledger.lost();
  EXPECT_TRUE(lost.empty()) << lost.size() << " of " << ledger.receipts()
                            << " receipted messages never consumed, first " << lost.front();
  co_await stream->close();
}

TEST_F(embedded_crash, repeated_kill_9_mid_stream_loses_no_receipted_message) {
  shfn::testing::run_coroutine(
      [this](asio::io_context& io) { return stream_through_crashes(io, broker); });
}

}  // namespace
}  // namespace shfn::client
