// Produce/consume throughput and publish latency of the shfn client against a broker.
//
//   client_bench URL [messages] [payload_bytes] [rate_per_second]
//
// Prints one line of figures per phase. Latency is send-to-receipt per message, measured in a
// separate run at a fixed, moderate rate (so it shows latency, not queueing).
//
// For profiling one phase on its own (e.g. the consume path under callgrind):
//   SHFN_BENCH_TOPIC   use this topic instead of a fresh random one
//   SHFN_BENCH_PHASES  any of "produce", "consume", "latency" (default: all three)
//   SHFN_BENCH_VERBOSE set: also print how often and how long the consumer stalled

#include <fmt/format.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"

using namespace shfn;
using namespace std::chrono;

namespace {

struct settings {
  std::string url;
  int messages = 200000;
  std::size_t payload = 100;
  int rate = 2000;
  std::string topic;  // empty: a fresh one
  bool produce = true;
  bool consume = true;
  bool latency = true;
  bool verbose = false;  // SHFN_BENCH_VERBOSE: also where the consume phase stalled
};

double seconds_since(clock::time_point t0) {
  return duration<double>(clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

asio::awaitable<void> run(settings s) {
  const char* token = std::getenv("PULSAR_TOKEN");
  const client::client_options options{.service_url = s.url, .auth_token = token ? token : ""};
  auto c = client::client::create(co_await asio::this_coro::executor, options);
  const std::string topic =
      s.topic.empty() ? fmt::format("bench-{}", std::random_device{}()) : s.topic;
  // The receiver queue bounds how many messages (so how many batch entries) are in flight to
  // the consumer; SHFN_BENCH_RECEIVER_QUEUE changes it (default 1000, as Pulsar's clients).
  const char* queue = std::getenv("SHFN_BENCH_RECEIVER_QUEUE");
  const client::consumer_options co{.topic = topic,
                                    .subscription = "bench",
                                    .position = client::initial_position::earliest,
                                    .receiver_queue_size = queue ? std::atoi(queue) : 1000};
  auto cons = co_await (*c)->subscribe(co);
  const client::producer_options po{
      .topic = topic, .batching = true, .max_pending_messages = 10000};
  auto prod = co_await (*c)->create_producer(po);
  if (!cons || !prod) {
    fmt::print(stderr, "bench: cannot connect to {}\n", s.url);
    co_return;
  }
  bytes payload(s.payload, 'x');

  // Throughput: as fast as back-pressure allows.
  auto t0 = clock::now();
  int failed = 0;
  for (int i = 0; s.produce && i < s.messages; ++i) {
    client::outgoing_message m{.payload = payload};
    co_await (*prod)->send_async(std::move(m), [&](result<wire::message_id> r) {
      if (!r) ++failed;
    });
  }
  (void)co_await (*prod)->flush();
  double produce_s = seconds_since(t0);
  if (s.produce) {
    fmt::print(
        "shfn-client produce: {} msgs x {} B in {:.2f} s = {:.0f} msg/s ({:.1f} MB/s), {} failed\n",
        s.messages, s.payload, produce_s, s.messages / produce_s,
        s.messages * static_cast<double>(s.payload) / produce_s / 1e6, failed);
  }

  t0 = clock::now();
  int received = 0;
  // Gaps between messages longer than this are stalls: the consumer waited for the broker (or
  // was descheduled). Measured from the clock reading each receive needs anyway.
  constexpr auto stall = 200us;
  int stalls = 0;
  clock::duration stalled{};
  auto last = t0;
  while (s.consume && received < s.messages) {
    auto m = co_await (*cons)->receive(last + 10s);
    if (!m) break;
    (*cons)->acknowledge(*m);
    ++received;
    const auto now = clock::now();
    if (now - last > stall) {
      ++stalls;
      stalled += now - last;
    }
    last = now;
  }
  double consume_s = seconds_since(t0);
  if (s.consume) {
    fmt::print("shfn-client consume: {} msgs in {:.2f} s = {:.0f} msg/s\n", received, consume_s,
               received / consume_s);
    if (s.verbose) {
      fmt::print("shfn-client consume stalls: {} over {} us, {:.1f} ms in all\n", stalls,
                 duration_cast<microseconds>(stall).count(),
                 duration<double, std::milli>(stalled).count());
    }
  }

  // Latency at a fixed rate, batching off as a latency-sensitive user would run it.
  const client::producer_options lo{.topic = topic + "-latency"};
  auto lat_prod = co_await (*c)->create_producer(lo);
  std::vector<double> latencies_ms;
  const int count = s.latency ? std::min(s.messages, s.rate * 10) : 0;
  auto interval = duration_cast<nanoseconds>(duration<double>(1.0 / s.rate));
  asio::steady_timer pace(co_await asio::this_coro::executor);
  auto next = clock::now();
  for (int i = 0; i < count; ++i) {
    next += interval;
    pace.expires_at(next);
    co_await pace.async_wait(asio::use_awaitable);
    auto sent_at = clock::now();
    client::outgoing_message m{.payload = payload};
    co_await (*lat_prod)->send_async(
        std::move(m), [&latencies_ms, sent_at](result<wire::message_id> r) {
          if (r)
            latencies_ms.push_back(duration<double, std::milli>(clock::now() - sent_at).count());
        });
  }
  (void)co_await (*lat_prod)->flush();
  if (s.latency) {
    fmt::print("shfn-client latency @ {} msg/s: p50 {:.3f} ms, p99 {:.3f} ms ({} samples)\n",
               s.rate, percentile(latencies_ms, 0.50), percentile(latencies_ms, 0.99),
               latencies_ms.size());
  }
  co_await (*lat_prod)->close();
  co_await (*prod)->close();
  co_await (*cons)->close();
  (*c)->close();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: client_bench URL [messages] [payload_bytes] [rate]\n");
    return 2;
  }
  settings s{.url = argv[1]};
  if (argc > 2) s.messages = std::stoi(argv[2]);
  if (argc > 3) s.payload = static_cast<std::size_t>(std::stoul(argv[3]));
  if (argc > 4) s.rate = std::stoi(argv[4]);
  if (const char* topic = std::getenv("SHFN_BENCH_TOPIC")) s.topic = topic;
  s.verbose = std::getenv("SHFN_BENCH_VERBOSE") != nullptr;
  if (const char* phases = std::getenv("SHFN_BENCH_PHASES")) {
    const std::string_view p(phases);
    s.produce = p.find("produce") != std::string_view::npos;
    s.consume = p.find("consume") != std::string_view::npos;
    s.latency = p.find("latency") != std::string_view::npos;
  }
  asio::io_context io(1);
  asio::co_spawn(io, run(s), asio::detached);
  io.run();
  return 0;
}
