// The client across a broker restart: a producer and a consumer keep running while Apache Pulsar
// standalone is stopped and started again on the same ports and data. Both must reconnect on
// their own, every message that got a receipt must be consumed, and no send may fail (messages
// pending at the restart are resent, not dropped).
//
// The test runs its own standalone (scripts/pulsar-standalone.sh) so that restarting it does not
// disturb the suites sharing the run's broker.

#include <asio/post.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "support/broker_env.h"
#include "support/coro_test.h"
#include "support/receipt_ledger.h"

namespace shfn::client {
namespace {

using asio::awaitable;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A standalone in a directory of its own, stopped when the test ends.
class own_standalone {
 public:
  own_standalone() : dir_(fs::temp_directory_path() / unique_name()) {
    started_ = script("start", ">/dev/null") == 0;
  }
  ~own_standalone() { script("stop", ">/dev/null 2>&1"); }

  bool started() const { return started_; }
  int restart() { return script("restart", ">/dev/null"); }

  std::string url() const {
    std::ifstream env(dir_ / "env");
    for (std::string line; std::getline(env, line);) {
      if (line.starts_with("PULSAR_URL=")) return line.substr(11);
    }
    return "";
  }

 private:
  static std::string unique_name() {
    return shfn::testing::unique_topic("shfn-restart-standalone");
  }

  int script(const std::string& command, const std::string& redirect) const {
    const std::string line = std::string(SHFN_SCRIPTS_DIR) + "/pulsar-standalone.sh " + command +
                             " '" + dir_.string() + "' " + redirect;
    return std::system(line.c_str());
  }

  fs::path dir_;
  bool started_ = false;
};

struct restart_state {
  int receipts_after_restart = 0;
  bool restart_started = false;
  bool restart_done = false;
  int restart_rc = -1;
};

// Restarts the broker on a thread of its own (the script blocks for tens of seconds) and reports
// back on the io_context.
void restart_in_background(asio::io_context& io, own_standalone& broker, restart_state& s,
                           std::thread& worker) {
  s.restart_started = true;
  worker = std::thread([&io, &broker, &s] {
    const int rc = broker.restart();
    asio::post(io, [&s, rc] {
      s.restart_rc = rc;
      s.restart_done = true;
    });
  });
}

awaitable<void> stream_through_a_restart(asio::io_context& io, own_standalone& broker) {
  const client_options copts{
      .service_url = broker.url(), .operation_timeout = 30s, .max_backoff = 2s};
  const std::string topic = shfn::testing::unique_topic("restart");
  auto stream = co_await shfn::testing::message_stream::open(io, copts, topic);
  CO_ASSERT_OK(stream);
  auto& prod = stream->producer;

  shfn::testing::receipt_ledger ledger;
  ledger.start_consuming(io, *stream->consumer);
  restart_state s;
  std::thread worker;
  // Keep a stream flowing: 300 receipts before the restart, then through it, then 300 after.
  for (int i = 0; s.receipts_after_restart < 300; ++i) {
    if (ledger.receipts() >= 300 && !s.restart_started)
      restart_in_background(io, broker, s, worker);
    const std::size_t before = ledger.receipts();
    co_await ledger.send(*prod, "m-" + std::to_string(i));
    if (s.restart_done) s.receipts_after_restart += static_cast<int>(ledger.receipts() - before);
    if (s.restart_done && s.restart_rc != 0) break;
  }
  worker.join();
  CO_ASSERT_TRUE(s.restart_rc == 0);
  CO_ASSERT_OK(co_await prod->flush());

  // Everything receipted must arrive; give the consumer time to catch up after its reconnect.
  co_await ledger.finish(60s);
  EXPECT_EQ(ledger.send_failures(), 0);
  const auto lost = ledger.lost();
  EXPECT_TRUE(lost.empty()) << lost.size() << " receipted messages never consumed, first "
                            << lost.front();
  co_await stream->close();
}

TEST(broker_restart, producer_and_consumer_carry_on_and_nothing_receipted_is_lost) {
  if (shfn::testing::env("PULSAR_URL").empty()) {
    GTEST_SKIP() << "not under scripts/test.sh: Pulsar standalone may not be set up";
  }
  own_standalone broker;
  ASSERT_TRUE(broker.started()) << "could not start a Pulsar standalone for this test";
  shfn::testing::run_coroutine(
      [&broker](asio::io_context& io) { return stream_through_a_restart(io, broker); });
}

}  // namespace
}  // namespace shfn::client
