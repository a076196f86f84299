// Figures for flows: a Parallel run by `shfn run` (bench/run-flows.sh drives it).
//
//   flow_bench produce URL TOPIC COUNT [PAYLOAD_BYTES] [SUBSCRIPTION,...]
//       Creates the given Shared subscriptions on TOPIC at the earliest position (the Parallel's
//       filter stages subscribe at Latest, so they must exist before the events do), then
//       publishes COUNT numbered binary-mode CloudEvents (batched), for the flow to drain later.
//   flow_bench drain URL TOPIC COUNT BRANCHES [TIMEOUT_S] [START_MS]
//       Consumes the Parallel's reply topic from the earliest message until every one of the
//       COUNT inputs came back once from each of the BRANCHES branches (or nothing came for
//       TIMEOUT_S), and prints what is missing or duplicated, per branch. Throughput is taken
//       from the outputs' publish times (stamped by the subscriber stages' producers), first to
//       last; START_MS (ms since the epoch, when `shfn run` was started) adds the figure
//       including start-up.
//   flow_bench latency URL IN_TOPIC OUT_TOPIC BRANCHES RATE SECONDS HOPS [PAYLOAD_BYTES]
//       Publishes RATE events/s for SECONDS (batching on, 1 ms, as function_bench) with the send
//       time in the data and consumes the reply topic: end-to-end latency percentiles over every
//       output (one per input and branch), and the same divided by HOPS.
//
// Events: binary mode (ce_specversion, ce_id = the sequence number, ce_source, ce_type,
// content-type text/plain as properties; the data is the payload). Data: "<seq, 10 digits>
// <steady-clock ns, 19 digits> " padded with 'x' (no newline, so the `lines` framing carries it).
// A subscriber that echoes its input keeps the data, so the output names its input; the output's
// `ce_shfnhistory` (the topics it crossed, newest last, src/event/history.h) ends with the
// branch channel `<ingress>-branch-<i>`, which names the branch. Every figure is printed as a
// line "RESULT name value" too, for the script's table.

#include <fmt/format.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/notifier.h"
#include "bench_support.h"
#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"

using namespace shfn;
using namespace shfn::bench;
using namespace std::chrono;

namespace {

constexpr std::string_view branch_marker = "-branch-";

client::outgoing_message make_event(std::uint64_t seq, std::int64_t stamp_ns, std::size_t size) {
  return client::outgoing_message{.payload = make_payload(seq, stamp_ns, size),
                                  .properties = {{"ce_specversion", "1.0"},
                                                 {"ce_id", std::to_string(seq)},
                                                 {"ce_source", "/shfn/bench/flow"},
                                                 {"ce_type", "dev.shfn.bench.flow"},
                                                 {"content-type", "text/plain"}}};
}

// The branch an output came through: the number after "-branch-" in the last entry of its
// ce_shfnhistory (the branch channel the subscriber stage read); nullopt when there is none.
std::optional<std::size_t> branch_of(const client::message& m) {
  for (const auto& [name, value] : m.properties) {
    if (name != "ce_shfnhistory") continue;
    const auto last = value.rfind(branch_marker);
    if (last == std::string::npos) return std::nullopt;
    const char* begin = value.data() + last + branch_marker.size();
    const char* end = value.data() + value.size();
    std::size_t branch = 0;
    const auto [ptr, ec] = std::from_chars(begin, end, branch);
    // The channel must be the last entry: nothing but the number after it.
    if (ec != std::errc{} || ptr != end) return std::nullopt;
    return branch;
  }
  return std::nullopt;
}

// Which inputs came back from which branch: exactly-once bookkeeping for COUNT x BRANCHES.
struct tally {
  tally(std::size_t count, std::size_t branches)
      : count_(count),
        seen_(branches, std::vector<bool>(count, false)),
        unique_(branches, 0),
        duplicates_(branches, 0) {}

  enum class verdict { fresh, duplicate, unexpected };

  verdict add(const client::message& m, std::uint64_t seq) {
    const auto b = branch_of(m);
    if (!b || *b >= seen_.size() || seq >= count_) {
      ++unexpected_;
      return verdict::unexpected;
    }
    auto&& slot = seen_[*b][seq];
    if (slot) {
      ++duplicates_[*b];
      return verdict::duplicate;
    }
    slot = true;
    ++unique_[*b];
    ++total_unique_;
    return verdict::fresh;
  }

  bool complete() const { return total_unique_ == count_ * seen_.size(); }
  std::size_t total_unique() const { return total_unique_; }
  std::size_t expected() const { return count_ * seen_.size(); }
  std::size_t missing() const { return expected() - total_unique_; }
  std::size_t duplicates() const {
    std::size_t d = 0;
    for (auto n : duplicates_) d += n;
    return d;
  }
  int unexpected() const { return unexpected_; }

  // "branch 0: 200000 (missing 0, duplicates 0); branch 1: ..."
  std::string per_branch() const {
    std::string out;
    for (std::size_t b = 0; b < seen_.size(); ++b) {
      out += fmt::format("{}branch {}: {} (missing {}, duplicates {})", b ? "; " : "", b,
                         unique_[b], count_ - unique_[b], duplicates_[b]);
    }
    return out;
  }

  // The first few inputs missing from some branch, for a look at the topics.
  std::string first_missing(std::size_t limit = 5) const {
    std::string out;
    std::size_t shown = 0;
    for (std::size_t b = 0; b < seen_.size() && shown < limit; ++b) {
      for (std::size_t s = 0; s < count_ && shown < limit; ++s) {
        if (seen_[b][s]) continue;
        out += fmt::format("{}{}@{}", shown ? " " : "", s, b);
        ++shown;
      }
    }
    return out;
  }

 private:
  std::size_t count_;
  std::vector<std::vector<bool>> seen_;  // [branch][seq]
  std::vector<std::size_t> unique_, duplicates_;
  std::size_t total_unique_ = 0;
  int unexpected_ = 0;
};

void print_tally(std::string_view what, const tally& t) {
  fmt::print("{}: {}/{} outputs (missing {}, duplicates {}, unexpected {}); {}\n", what,
             t.total_unique(), t.expected(), t.missing(), t.duplicates(), t.unexpected(),
             t.per_branch());
  if (t.missing() > 0) fmt::print("{}: first missing (seq@branch): {}\n", what, t.first_missing());
}

// ---------------------------------------------------------------- produce

struct produce_args {
  std::string url, topic;
  int count = 0;
  std::size_t payload = 100;
  std::vector<std::string> subscriptions;
  int failed = 0;
};

asio::awaitable<void> produce(produce_args* a) {
  auto c = make_client(a->url, co_await asio::this_coro::executor);
  if (!c) {
    fmt::print(stderr, "produce: {}\n", c.error().message());
    a->failed = a->count;
    co_return;
  }
  for (const auto& sub : a->subscriptions) {
    const client::consumer_options co{.topic = a->topic,
                                      .subscription = sub,
                                      .type = client::subscription_type::shared,
                                      .position = client::initial_position::earliest};
    auto cons = co_await (*c)->subscribe(co);
    if (!cons) {
      fmt::print(stderr, "produce: cannot subscribe '{}' to {}: {}\n", sub, a->topic,
                 cons.error().message());
      a->failed = a->count;
      co_return;
    }
    co_await (*cons)->close();
  }
  const client::producer_options po{
      .topic = a->topic, .batching = true, .max_pending_messages = 10000};
  auto prod = co_await (*c)->create_producer(po);
  if (!prod) {
    fmt::print(stderr, "produce: cannot create a producer on {}: {}\n", a->topic,
               prod.error().message());
    a->failed = a->count;
    co_return;
  }
  const auto t0 = clock::now();
  int* failed = &a->failed;
  const client::send_callback done = [failed](result<wire::message_id> r) {
    if (!r) ++*failed;
  };
  for (int i = 0; i < a->count; ++i) {
    co_await (*prod)->send_async(make_event(static_cast<std::uint64_t>(i), 0, a->payload), done);
  }
  (void)co_await (*prod)->flush();
  const double s = seconds_since(t0);
  fmt::print(
      "produce: {} events x {} B to {} in {:.2f} s ({:.0f} events/s), {} failed; subscriptions "
      "created first: {}\n",
      a->count, a->payload, a->topic, s, a->count / s, a->failed,
      a->subscriptions.empty() ? "none" : fmt::format("{}", fmt::join(a->subscriptions, ", ")));
  co_await (*prod)->close();
  (*c)->close();
}

// ---------------------------------------------------------------- drain

struct drain_args {
  std::string url, topic;
  int count = 0;
  int branches = 2;
  seconds idle_timeout{60};
  std::int64_t start_ms = 0;  // when `shfn run` was started; 0: unknown
  bool complete = false;
};

asio::awaitable<void> drain(drain_args* a) {
  auto c = make_client(a->url, co_await asio::this_coro::executor);
  if (!c) {
    fmt::print(stderr, "drain: {}\n", c.error().message());
    co_return;
  }
  const client::consumer_options co{.topic = a->topic,
                                    .subscription = "bench-drain",
                                    .position = client::initial_position::earliest,
                                    .receiver_queue_size = 5000};
  auto cons = co_await (*c)->subscribe(co);
  for (int tries = 0; !cons && tries < 50; ++tries) {
    co_await sleep_for(200ms);
    cons = co_await (*c)->subscribe(co);
  }
  if (!cons) {
    fmt::print(stderr, "drain: cannot subscribe to {}: {}\n", a->topic, cons.error().message());
    co_return;
  }
  tally t(static_cast<std::size_t>(a->count), static_cast<std::size_t>(a->branches));
  std::uint64_t first_pt = UINT64_MAX, last_pt = 0;
  clock::time_point first_rx{}, last_rx{};
  while (!t.complete()) {
    auto m = co_await (*cons)->receive(clock::now() + a->idle_timeout);
    if (!m) break;
    (*cons)->acknowledge(*m);
    const auto parsed = parse_payload(m->payload);
    if (t.add(*m, parsed ? parsed->first : UINT64_MAX) != tally::verdict::fresh) continue;
    last_rx = clock::now();
    if (t.total_unique() == 1) first_rx = last_rx;
    first_pt = std::min(first_pt, m->publish_time);
    last_pt = std::max(last_pt, m->publish_time);
  }
  // Anything after the last expected output (a late duplicate) is counted too, for a moment.
  while (auto m = co_await (*cons)->receive(clock::now() + 1s)) {
    (*cons)->acknowledge(*m);
    const auto parsed = parse_payload(m->payload);
    (void)t.add(*m, parsed ? parsed->first : UINT64_MAX);
  }
  a->complete = t.complete() && t.duplicates() == 0 && t.unexpected() == 0;
  const auto outputs = static_cast<double>(t.total_unique());
  if (outputs == 0) first_pt = last_pt = 0;
  const double span_s = static_cast<double>(last_pt - first_pt) / 1e3;
  // Events: inputs, each of which makes one output per branch.
  const double events = outputs / a->branches;
  const double events_rate = span_s > 0 ? events / span_s : 0;
  const double rx_s = duration<double>(last_rx - first_rx).count();
  print_tally(fmt::format("drain {}", a->topic), t);
  fmt::print(
      "drain {}: first->last output published {:.3f} s = {:.0f} events/s ({:.0f} outputs/s); "
      "first->last received {:.3f} s = {:.0f} events/s\n",
      a->topic, span_s, events_rate, events_rate * a->branches, rx_s, rx_s > 0 ? events / rx_s : 0);
  result_line("outputs", outputs);
  result_line("missing", static_cast<double>(t.missing()));
  result_line("duplicates", static_cast<double>(t.duplicates()));
  result_line("unexpected", t.unexpected());
  result_line("rate", events_rate);
  result_line("output_rate", events_rate * a->branches);
  if (a->start_ms > 0 && outputs > 0) {
    const double total_s = (static_cast<double>(last_pt) - static_cast<double>(a->start_ms)) / 1e3;
    fmt::print("drain {}: from `shfn run` started to last output {:.3f} s = {:.0f} events/s\n",
               a->topic, total_s, events / total_s);
    result_line("rate_with_startup", events / total_s);
  }
  co_await (*cons)->close();
  (*c)->close();
}

// ---------------------------------------------------------------- latency

struct latency_state {
  std::string url, in, out;
  int branches = 2;
  int rate = 2000;
  int seconds = 10;
  int hops = 3;
  std::size_t payload = 100;
  int sent = 0, failed = 0;
  std::vector<double> latencies_ms;
  std::optional<tally> seen;
  bool producing_done = false;
  notifier changed;
};

asio::awaitable<void> receive_outputs(client::consumer* cons, latency_state* st) {
  while (!st->seen->complete()) {
    // Once everything is sent, wait at most 10 s more for what is missing.
    const auto deadline = st->producing_done ? clock::now() + 10s : clock::now() + 60s;
    auto m = co_await cons->receive(deadline);
    if (!m) break;
    const auto now = steady_ns();
    cons->acknowledge(*m);
    const auto parsed = parse_payload(m->payload);
    if (st->seen->add(*m, parsed ? parsed->first : UINT64_MAX) != tally::verdict::fresh) continue;
    st->latencies_ms.push_back(static_cast<double>(now - parsed->second) / 1e6);
  }
}

asio::awaitable<void> latency(latency_state* st) {
  auto ex = co_await asio::this_coro::executor;
  auto c = make_client(st->url, ex);
  if (!c) {
    fmt::print(stderr, "latency: {}\n", c.error().message());
    co_return;
  }
  // A fresh subscription per run, so that nothing of an earlier run is counted.
  const client::consumer_options co{
      .topic = st->out,
      .subscription = fmt::format("bench-latency-{}-{}", st->rate, std::random_device{}()),
      .position = client::initial_position::latest};
  auto cons = co_await (*c)->subscribe(co);
  const client::producer_options po{.topic = st->in, .batching = true};
  auto prod = co_await (*c)->create_producer(po);
  if (!cons || !prod) {
    fmt::print(stderr, "latency: cannot connect to {}\n", st->url);
    co_return;
  }
  const int count = st->rate * st->seconds;
  st->seen.emplace(static_cast<std::size_t>(count), static_cast<std::size_t>(st->branches));
  st->latencies_ms.reserve(static_cast<std::size_t>(count * st->branches));
  bool receiver_done = false;
  auto* done_flag = &receiver_done;
  asio::co_spawn(
      ex,
      [](client::consumer* k, latency_state* s, bool* flag) -> asio::awaitable<void> {
        co_await receive_outputs(k, s);
        *flag = true;
        s->changed.notify_all();
      }(cons->get(), st, done_flag),
      asio::detached);

  int* failed = &st->failed;
  const client::send_callback done = [failed](result<wire::message_id> r) {
    if (!r) ++*failed;
  };
  const auto interval = duration_cast<nanoseconds>(duration<double>(1.0 / st->rate));
  asio::steady_timer pace(ex);
  auto next = clock::now();
  const auto t0 = clock::now();
  for (int i = 0; i < count; ++i) {
    next += interval;
    pace.expires_at(next);
    co_await pace.async_wait(asio::use_awaitable);
    co_await (*prod)->send_async(
        make_event(static_cast<std::uint64_t>(i), steady_ns(), st->payload), done);
    ++st->sent;
  }
  (void)co_await (*prod)->flush();
  const double send_s = seconds_since(t0);
  st->producing_done = true;
  while (!receiver_done) co_await st->changed.wait();

  auto& v = st->latencies_ms;
  std::sort(v.begin(), v.end());
  const double p50 = percentile(v, 0.5), p99 = percentile(v, 0.99), mx = v.empty() ? 0 : v.back();
  const double h = st->hops;
  print_tally(fmt::format("latency {} -> {}", st->in, st->out), *st->seen);
  fmt::print(
      "latency @ {} events/s for {} s (sent in {:.2f} s, {} send failures), over {} outputs: "
      "end to end p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, p99.9 {:.2f} ms, max {:.2f} ms; "
      "per hop (/{}) p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms\n",
      st->rate, st->seconds, send_s, st->failed, v.size(), percentile(v, 0.5), percentile(v, 0.9),
      percentile(v, 0.99), percentile(v, 0.999), mx, st->hops, p50 / h, p99 / h, mx / h);
  result_line("lat_outputs", static_cast<double>(v.size()));
  result_line("lat_missing", static_cast<double>(st->seen->missing()));
  result_line("lat_duplicates", static_cast<double>(st->seen->duplicates()));
  result_line("p50", p50);
  result_line("p99", p99);
  result_line("max", mx);
  result_line("hop_p50", p50 / h);
  result_line("hop_p99", p99 / h);
  result_line("hop_max", mx / h);
  co_await (*prod)->close();
  co_await (*cons)->close();
  (*c)->close();
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int usage() {
  std::fprintf(stderr,
               "usage: flow_bench produce URL TOPIC COUNT [PAYLOAD] [SUBSCRIPTION,...]\n"
               "       flow_bench drain URL TOPIC COUNT BRANCHES [TIMEOUT_S] [START_MS]\n"
               "       flow_bench latency URL IN OUT BRANCHES RATE SECONDS HOPS [PAYLOAD]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string what = argv[1];
  std::vector<std::string> a(argv + 2, argv + argc);
  auto arg_or = [&](std::size_t i, const char* fallback) {
    return i < a.size() ? a[i] : std::string(fallback);
  };
  if (what == "produce" && a.size() >= 3) {
    produce_args p{.url = a[0],
                   .topic = a[1],
                   .count = std::stoi(a[2]),
                   .payload = std::stoul(arg_or(3, "100")),
                   .subscriptions = split_commas(arg_or(4, ""))};
    asio::io_context io(1);
    asio::co_spawn(io, produce(&p), asio::detached);
    io.run();
    return p.failed == 0 ? 0 : 1;
  }
  if (what == "drain" && a.size() >= 4) {
    drain_args d{.url = a[0],
                 .topic = a[1],
                 .count = std::stoi(a[2]),
                 .branches = std::stoi(a[3]),
                 .idle_timeout = seconds(std::stoi(arg_or(4, "60"))),
                 .start_ms = std::stoll(arg_or(5, "0"))};
    asio::io_context io(1);
    asio::co_spawn(io, drain(&d), asio::detached);
    io.run();
    return d.complete ? 0 : 1;
  }
  if (what == "latency" && a.size() >= 7) {
    latency_state st;
    st.url = a[0];
    st.in = a[1];
    st.out = a[2];
    st.branches = std::stoi(a[3]);
    st.rate = std::stoi(a[4]);
    st.seconds = std::stoi(a[5]);
    st.hops = std::stoi(a[6]);
    st.payload = std::stoul(arg_or(7, "100"));
    asio::io_context io(1);
    asio::co_spawn(io, latency(&st), asio::detached);
    io.run();
    return st.seen && st.seen->complete() ? 0 : 1;
  }
  return usage();
}
