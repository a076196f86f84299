// Figures for functions (bench/run-functions.sh drives it; see docs/benchmarks.md, "Functions").
//
//   function_bench produce URL TOPIC COUNT [PAYLOAD_BYTES]
//       Publishes COUNT numbered messages (batched), for a function to drain later.
//   function_bench drain URL TOPIC COUNT [TIMEOUT_S] [START_MS]
//       Consumes a function's output topic from the earliest message until COUNT distinct
//       numbered messages came (or nothing came for TIMEOUT_S). Throughput is taken from the
//       outputs' publish times (stamped by the function's producer), first to last, so it does
//       not depend on when this consumer connected; START_MS (ms since the epoch, when the
//       `shfn run` process was started) adds the figure including start-up and the start-up
//       itself (to the first output published). Also the rate over the second half of the
//       outputs (publish times in order: from output COUNT/2 to the last), for a runtime
//       that is slow to warm up (a JVM).
//       --reversed: the function reverses the bytes of each message (bench/vs-pulsar-functions.sh:
//       `rev`, a Java function). Each output is reversed back and must then be exactly one of
//       the inputs `produce` sent (seq, stamp 0, PAYLOAD_BYTES of --payload-bytes, default
//       100); any other output is counted as wrong (RESULT wrong). Once COUNT distinct
//       outputs came, it waits a second more for late duplicates.
//   function_bench latency URL IN_TOPIC OUT_TOPIC RATE SECONDS [PAYLOAD_BYTES]
//       Publishes RATE msg/s for SECONDS (batching on, 1 ms) with the send time in the payload
//       and consumes the function's output: end-to-end latency percentiles.
//   function_bench raw SPEC FUNCTION COUNT [PAYLOAD_BYTES]
//       Exec mode without any broker: spawns the function's command COUNT times with the same
//       input, environment, metadata file and concurrency (its `parallelism`) as the runtime
//       does, with shfn::exec::run_once; then the same with a plain posix_spawn + pipes +
//       waitpid loop (one thread per unit of parallelism), as the floor of spawning on this
//       machine.
//   function_bench raw-stream SPEC FUNCTION COUNT [PAYLOAD_BYTES]
//       Stream mode without any broker: COUNT requests through shfn::exec::worker_pool as the
//       runtime sends them (batches of up to 32, 64 requests in flight per worker), as the
//       ceiling of the executor alone.
//
// Payloads: "<seq, 10 digits> <steady-clock ns, 19 digits> " padded with 'x' (no newline, so
// the `lines` framing carries them). Every figure is printed as a line "RESULT name value" too,
// for the script's table.

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "config/spec.h"
#include "exec/process.h"
#include "exec/worker_pool.h"
#include "function/admission.h"
#include "function/script_env.h"

extern char** environ;

using namespace shfn;
using namespace shfn::bench;
using namespace std::chrono;

namespace {

// CPU time (user + system) of this process's threads, or of its reaped children, in µs.
double cpu_us(int who) {
  rusage u{};
  ::getrusage(who, &u);
  const auto us = [](const timeval& t) { return t.tv_sec * 1e6 + t.tv_usec; };
  return us(u.ru_utime) + us(u.ru_stime);
}

long voluntary_switches() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_nvcsw;
}

std::int64_t wall_ms() {
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------- produce

struct produce_args {
  std::string url, topic;
  int count = 0;
  std::size_t payload = 100;
  int failed = 0;
};

asio::awaitable<void> produce(produce_args* a) {
  auto c = make_client(a->url, co_await asio::this_coro::executor);
  if (!c) {
    fmt::print(stderr, "produce: {}\n", c.error().message());
    a->failed = a->count;
    co_return;
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
    client::outgoing_message m{.payload =
                                   make_payload(static_cast<std::uint64_t>(i), 0, a->payload)};
    co_await (*prod)->send_async(std::move(m), done);
  }
  (void)co_await (*prod)->flush();
  const double s = seconds_since(t0);
  fmt::print("produce: {} msgs x {} B to {} in {:.2f} s ({:.0f} msg/s), {} failed\n", a->count,
             a->payload, a->topic, s, a->count / s, a->failed);
  co_await (*prod)->close();
  (*c)->close();
}

// ---------------------------------------------------------------- drain

struct drain_args {
  std::string url, topic;
  int count = 0;
  seconds idle_timeout{60};
  std::int64_t start_ms = 0;  // when `shfn run` was started; 0: unknown
  bool reversed = false;      // outputs are the inputs' bytes in reverse order; check each
  std::size_t payload = 100;  // with `reversed`: the inputs' size, as given to `produce`
  int received = 0;
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
  // The function may not have created the topic yet (standalone: auto-creation on subscribe
  // works; the embedded broker creates it too), so retry a little.
  auto cons = co_await (*c)->subscribe(co);
  for (int tries = 0; !cons && tries < 50; ++tries) {
    co_await sleep_for(200ms);
    cons = co_await (*c)->subscribe(co);
  }
  if (!cons) {
    fmt::print(stderr, "drain: cannot subscribe to {}: {}\n", a->topic, cons.error().message());
    co_return;
  }
  std::vector<bool> seen(static_cast<std::size_t>(a->count), false);
  std::vector<std::uint64_t> publish_times;  // of each distinct output, for the second half
  publish_times.reserve(static_cast<std::size_t>(a->count));
  int unique = 0, duplicates = 0, foreign = 0, wrong = 0;
  std::uint64_t first_pt = UINT64_MAX, last_pt = 0;
  clock::time_point first_rx{}, last_rx{};
  // With --reversed every output is checked, so once all came, a second more for late
  // duplicates or strays.
  const auto settle = 1s;
  for (;;) {
    const bool all = unique >= a->count;
    if (all && !a->reversed) break;
    auto m = co_await (*cons)->receive(clock::now() + (all ? settle : a->idle_timeout));
    if (!m) break;
    (*cons)->acknowledge(*m);
    if (a->reversed) std::reverse(m->payload.begin(), m->payload.end());
    const auto parsed = parse_payload(m->payload);
    if (!parsed || parsed->first >= seen.size()) {
      ++foreign;
      continue;
    }
    if (a->reversed && m->payload != make_payload(parsed->first, 0, a->payload)) {
      ++wrong;
      continue;
    }
    if (seen[parsed->first]) {
      ++duplicates;
      continue;
    }
    seen[parsed->first] = true;
    ++unique;
    last_rx = clock::now();
    if (unique == 1) first_rx = last_rx;
    first_pt = std::min(first_pt, m->publish_time);
    last_pt = std::max(last_pt, m->publish_time);
    publish_times.push_back(m->publish_time);
  }
  a->received = unique;
  if (unique == 0) first_pt = last_pt = 0;
  const double by_publish = last_pt > first_pt ? (unique - 1) / ((last_pt - first_pt) / 1e3) : 0;
  const double rx_s = duration<double>(last_rx - first_rx).count();
  const double by_receive = rx_s > 0 ? (unique - 1) / rx_s : 0;
  fmt::print(
      "drain {}: {}/{} outputs (missing {}, duplicates {}, unexpected {}); first->last output "
      "published {:.3f} s = {:.0f} msg/s; first->last received {:.3f} s = {:.0f} msg/s\n",
      a->topic, unique, a->count, a->count - unique, duplicates, foreign,
      (last_pt - first_pt) / 1e3, by_publish, rx_s, by_receive);
  result_line("received", unique);
  result_line("missing", a->count - unique);
  result_line("duplicates", duplicates);
  result_line("rate", by_publish);
  // Second half: from the (unique/2)-th output published to the last one.
  std::sort(publish_times.begin(), publish_times.end());
  const std::size_t half = publish_times.size() / 2;
  if (half > 0 && publish_times.back() > publish_times[half - 1]) {
    const double s = static_cast<double>(publish_times.back() - publish_times[half - 1]) / 1e3;
    const double n = static_cast<double>(publish_times.size() - half);
    fmt::print("drain {}: second half ({} outputs) published in {:.3f} s = {:.0f} msg/s\n",
               a->topic, publish_times.size() - half, s, n / s);
    result_line("rate_second_half", n / s);
  }
  if (a->reversed) {
    fmt::print("drain {}: {} outputs not the byte-reverse of an input ({} unparseable)\n", a->topic,
               wrong + foreign, foreign);
    result_line("wrong", wrong + foreign);
  }
  if (a->start_ms > 0 && unique > 0) {
    const double startup_ms = static_cast<double>(first_pt) - static_cast<double>(a->start_ms);
    fmt::print("drain {}: from the function's process started to its first output {:.0f} ms\n",
               a->topic, startup_ms);
    result_line("startup_ms", startup_ms);
    const double total_s = (static_cast<double>(last_pt) - static_cast<double>(a->start_ms)) / 1e3;
    fmt::print("drain {}: from `shfn run` started to last output {:.3f} s = {:.0f} msg/s\n",
               a->topic, total_s, unique / total_s);
    result_line("rate_with_startup", unique / total_s);
  }
  co_await (*cons)->close();
  (*c)->close();
}

// ---------------------------------------------------------------- latency

struct latency_state {
  std::string url, in, out;
  int rate = 5000;
  int seconds = 10;
  std::size_t payload = 100;
  int sent = 0, failed = 0;
  std::vector<double> latencies_ms;
  std::vector<bool> seen;
  int duplicates = 0;
  bool producing_done = false;
  notifier changed;
};

asio::awaitable<void> receive_outputs(client::consumer* cons, latency_state* st) {
  const int expected = st->rate * st->seconds;
  while (static_cast<int>(st->latencies_ms.size()) < expected) {
    // Once everything is sent, wait at most 10 s more for what is missing.
    const auto deadline = st->producing_done ? clock::now() + 10s : clock::now() + 60s;
    auto m = co_await cons->receive(deadline);
    if (!m) break;
    const auto now = steady_ns();
    cons->acknowledge(*m);
    const auto parsed = parse_payload(m->payload);
    if (!parsed || parsed->first >= st->seen.size()) continue;
    if (st->seen[parsed->first]) {
      ++st->duplicates;
      continue;
    }
    st->seen[parsed->first] = true;
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
  // Batching on with a 1 ms delay, as Pulsar's Java client does by default (unbatched, the
  // standalone could not take 5,000 entries/s next to the function: the producer fell behind).
  const client::producer_options po{.topic = st->in, .batching = true};
  auto prod = co_await (*c)->create_producer(po);
  if (!cons || !prod) {
    fmt::print(stderr, "latency: cannot connect to {}\n", st->url);
    co_return;
  }
  const int count = st->rate * st->seconds;
  st->seen.assign(static_cast<std::size_t>(count), false);
  st->latencies_ms.reserve(static_cast<std::size_t>(count));
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
    client::outgoing_message m{
        .payload = make_payload(static_cast<std::uint64_t>(i), steady_ns(), st->payload)};
    co_await (*prod)->send_async(std::move(m), done);
    ++st->sent;
  }
  (void)co_await (*prod)->flush();
  const double send_s = seconds_since(t0);
  st->producing_done = true;
  while (!receiver_done) co_await st->changed.wait();

  auto& v = st->latencies_ms;
  std::sort(v.begin(), v.end());
  fmt::print(
      "latency {} -> {} @ {} msg/s for {} s (sent in {:.2f} s): {} of {} outputs, {} send "
      "failures, {} duplicates; p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, p99.9 {:.2f} ms, "
      "max {:.2f} ms\n",
      st->in, st->out, st->rate, st->seconds, send_s, v.size(), count, st->failed, st->duplicates,
      percentile(v, 0.5), percentile(v, 0.9), percentile(v, 0.99), percentile(v, 0.999),
      v.empty() ? 0 : v.back());
  result_line("lat_received", static_cast<double>(v.size()));
  result_line("lat_missing", count - static_cast<double>(v.size()));
  result_line("p50", percentile(v, 0.5));
  result_line("p99", percentile(v, 0.99));
  result_line("max", v.empty() ? 0 : v.back());
  co_await (*prod)->close();
  co_await (*cons)->close();
  (*c)->close();
}

// ---------------------------------------------------------------- raw (no broker)

struct raw_setup {
  config::function_spec spec;
  exec::command cmd;
  exec::limits lim;
  std::string scratch;
};

std::optional<raw_setup> load_function(const std::string& path, const std::string& name) {
  auto file = config::load_file(path);
  if (!file) {
    for (const auto& e : file.error()) fmt::print(stderr, "{}\n", e.to_string());
    return std::nullopt;
  }
  for (auto& f : file->functions) {
    if (f.name != name) continue;
    raw_setup s;
    s.spec = std::move(f);
    // Exactly what function_instance builds.
    s.cmd = exec::command{.argv = s.spec.argv,
                          .working_dir = s.spec.working_dir,
                          .env = function::base_environment(s.spec, 0, environ)};
    s.lim = exec::limits{.max_output = s.spec.max_output_bytes,
                         .timeout = s.spec.timeout,
                         .kill_grace = s.spec.kill_grace};
    std::string pattern = (std::filesystem::temp_directory_path() / "shfn-bench.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return std::nullopt;
    s.scratch = pattern;
    return s;
  }
  fmt::print(stderr, "{}: no function '{}'\n", path, name);
  return std::nullopt;
}

// A message such as the runtime would hand the script, for its environment.
client::message fake_message(const raw_setup& s, std::uint64_t seq, std::size_t payload) {
  client::message m;
  m.id = wire::message_id{.ledger = 0, .entry = static_cast<std::int64_t>(seq), .partition = -1};
  m.topic = s.spec.inputs.empty() ? "persistent://public/default/in" : s.spec.inputs.front();
  m.payload = make_payload(seq, 0, payload);
  m.producer_name = "bench-0-1";
  m.publish_time = static_cast<std::uint64_t>(wall_ms());
  return m;
}

struct raw_run {
  const raw_setup* setup = nullptr;
  int count = 0;
  std::size_t payload = 100;
  int next = 0;
  int failed = 0;
  int workers_left = 0;
  bool no_yield = false;
  notifier finished;
};

asio::awaitable<void> raw_unit(raw_run* r) {
  while (r->next < r->count) {
    const auto seq = static_cast<std::uint64_t>(r->next++);
    const client::message m = fake_message(*r->setup, seq, r->payload);
    // As function_instance::invoke does it.
    exec::invocation inv{.input = m.payload,
                         .extra_env = function::message_environment(m),
                         .metadata_dir = r->setup->scratch};
    exec::line_sink to_log = [id = m.id.str()](std::string_view) {};
    exec::outcome o = co_await exec::run_once(r->setup->cmd, std::move(inv), r->setup->lim, to_log);
    if (!o.ok() || o.output != m.payload) {
      if (r->failed++ == 0) fmt::print(stderr, "raw: invocation failed: {}\n", o.message);
    }
    // Lets the event loop run before the next spawn, as the runtime does (it publishes and
    // receives in between). Without it, a readiness event of the previous child's pidfd still
    // queued in Asio completes the next child's exit wait, and child::wait_exit then SIGKILLs a
    // running child (docs/benchmarks.md, "Functions"). SHFN_BENCH_NO_YIELD=1 reproduces that.
    if (!r->no_yield) co_await yield_now();
  }
  if (--r->workers_left == 0) r->finished.notify_all();
}

asio::awaitable<void> raw_all(raw_run* r, int parallelism) {
  auto ex = co_await asio::this_coro::executor;
  r->workers_left = parallelism;
  for (int i = 0; i < parallelism; ++i) asio::co_spawn(ex, raw_unit(r), asio::detached);
  while (r->workers_left > 0) co_await r->finished.wait();
}

// One spawn of argv with `input` on stdin, stdout read to EOF, waited for. False on failure.
bool plain_spawn(const std::vector<std::string>& argv, char* const* envp, const bytes& input,
                 bytes& output) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return false;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return false;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  bool ok = rc == 0;
  if (ok) {
    std::size_t written = 0;
    while (written < input.size()) {
      const ssize_t n = ::write(in[1], input.data() + written, input.size() - written);
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
  }
  ::close(in[1]);
  output.clear();
  std::uint8_t buffer[4096];
  for (;;) {
    const ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    output.insert(output.end(), buffer, buffer + n);
  }
  ::close(out[0]);
  if (ok) {
    int status = 0;
    ok = ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return ok;
}

double plain_spawn_rate(const raw_setup& s, int count, int parallelism, std::size_t payload,
                        int& failed) {
  std::vector<std::string> env_text;
  for (const auto& [k, v] : s.cmd.env) env_text.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  const bytes input = make_payload(0, 0, payload);
  std::atomic<int> next{0}, failures{0};
  const auto t0 = clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < parallelism; ++t) {
    threads.emplace_back([&] {
      bytes output;
      while (next.fetch_add(1) < count) {
        if (!plain_spawn(s.spec.argv, envp.data(), input, output) || output != input) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  failed = failures.load();
  return count / seconds_since(t0);
}

int raw(const std::string& spec, const std::string& name, int count, std::size_t payload) {
  auto s = load_function(spec, name);
  if (!s) return 1;
  const int p = s->spec.parallelism;
  asio::io_context io(1);
  const char* no_yield = std::getenv("SHFN_BENCH_NO_YIELD");
  raw_run r{.setup = &*s,
            .count = count,
            .payload = payload,
            .no_yield = no_yield != nullptr && std::string_view(no_yield) == "1"};
  const auto t0 = clock::now();
  const double self0 = cpu_us(RUSAGE_SELF), children0 = cpu_us(RUSAGE_CHILDREN);
  const long switches0 = voluntary_switches();
  asio::co_spawn(io, raw_all(&r, p), asio::detached);
  io.run();
  const double run_once_rate = count / seconds_since(t0);
  const double self_us = (cpu_us(RUSAGE_SELF) - self0) / count;
  const double children_us = (cpu_us(RUSAGE_CHILDREN) - children0) / count;
  const double switches = double(voluntary_switches() - switches0) / count;
  fmt::print(
      "raw {} (parallelism {}): exec::run_once x {} = {:.0f} spawns/s, {} failed; CPU per "
      "spawn: parent {:.0f} us ({:.1f} voluntary switches), children {:.0f} us\n",
      name, p, count, run_once_rate, r.failed, self_us, switches, children_us);
  int failed = 0;
  const double plain_rate = plain_spawn_rate(*s, count, p, payload, failed);
  fmt::print("raw {} (parallelism {}): plain posix_spawn x {} = {:.0f} spawns/s, {} failed\n", name,
             p, count, plain_rate, failed);
  result_line("run_once", run_once_rate);
  result_line("run_once_failed", r.failed);
  result_line("run_once_parent_us", self_us);
  result_line("run_once_children_us", children_us);
  result_line("posix_spawn", plain_rate);
  std::error_code ignored;
  std::filesystem::remove_all(s->scratch, ignored);
  return r.failed == 0 && failed == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- raw-stream (no broker)

struct stream_run {
  exec::worker_pool* pool = nullptr;
  int count = 0;
  std::size_t payload = 100;
  int next = 0;
  int failed = 0;
  int left = 0;
  notifier finished;
};

// One of the runtime's batches at a time (function_instance: what came in together, up to
// admission::stream_batch_max), as one process_batch().
asio::awaitable<void> stream_unit(stream_run* r, std::size_t worker, int batch_max) {
  std::vector<bytes> inputs;
  while (r->next < r->count) {
    inputs.clear();
    while (r->next < r->count && static_cast<int>(inputs.size()) < batch_max) {
      inputs.push_back(make_payload(static_cast<std::uint64_t>(r->next++), 0, r->payload));
    }
    std::vector<byte_view> views(inputs.begin(), inputs.end());
    const auto outcomes = co_await r->pool->process_batch(std::move(views), worker);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const exec::outcome& o = outcomes[i];
      if (o.ok() && o.output == inputs[i]) continue;
      if (r->failed++ == 0) fmt::print(stderr, "raw-stream: request failed: {}\n", o.message);
    }
  }
  if (--r->left == 0) r->finished.notify_all();
}

asio::awaitable<void> stream_all(stream_run* r, int workers, int depth) {
  auto ex = co_await asio::this_coro::executor;
  auto started = co_await r->pool->start();
  if (!started) {
    fmt::print(stderr, "raw-stream: {}\n", r->pool->start_error());
    r->failed = r->count;
    co_return;
  }
  const int batch_max = static_cast<int>(function::admission::stream_batch_max);
  const int units = workers * (depth / batch_max);  // the batches a pipeline holds at once
  r->left = units;
  for (int i = 0; i < units; ++i) {
    asio::co_spawn(ex, stream_unit(r, static_cast<std::size_t>(i % workers), batch_max),
                   asio::detached);
  }
  while (r->left > 0) co_await r->finished.wait();
  co_await r->pool->stop();
}

int raw_stream(const std::string& spec, const std::string& name, int count, std::size_t payload) {
  auto s = load_function(spec, name);
  if (!s) return 1;
  constexpr int depth = static_cast<int>(function::admission::stream_pipeline_depth);
  asio::io_context io(1);
  exec::worker_pool_options options{.cmd = s->cmd,
                                    .workers = s->spec.parallelism,
                                    .frames = exec::framing::lines,
                                    .lim = s->lim,
                                    .max_in_flight = depth};
  exec::line_sink sink = [](std::string_view) {};
  exec::worker_pool pool(io.get_executor(), std::move(options), sink);
  stream_run r{.pool = &pool, .count = count, .payload = payload};
  const auto t0 = clock::now();
  asio::co_spawn(io, stream_all(&r, s->spec.parallelism, depth), asio::detached);
  io.run();
  const double rate = count / seconds_since(t0);
  fmt::print("raw-stream {} (workers {}): worker_pool x {} = {:.0f} msg/s, {} failed\n", name,
             s->spec.parallelism, count, rate, r.failed);
  result_line("worker_pool", rate);
  std::error_code ignored;
  std::filesystem::remove_all(s->scratch, ignored);
  return r.failed == 0 ? 0 : 1;
}

int usage() {
  std::fprintf(stderr,
               "usage: function_bench produce URL TOPIC COUNT [PAYLOAD]\n"
               "       function_bench drain [--reversed] [--payload-bytes N] URL TOPIC COUNT "
               "[TIMEOUT_S] [START_MS]\n"
               "       function_bench latency URL IN OUT RATE SECONDS [PAYLOAD]\n"
               "       function_bench raw SPEC FUNCTION COUNT [PAYLOAD]\n"
               "       function_bench raw-stream SPEC FUNCTION COUNT [PAYLOAD]\n");
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
                   .payload = std::stoul(arg_or(3, "100"))};
    asio::io_context io(1);
    asio::co_spawn(io, produce(&p), asio::detached);
    io.run();
    return p.failed == 0 ? 0 : 1;
  }
  if (what == "drain") {
    // Options first, then the positional arguments as before.
    bool reversed = false;
    std::size_t payload = 100;
    while (!a.empty() && a[0].starts_with("--")) {
      if (a[0] == "--reversed") {
        reversed = true;
        a.erase(a.begin());
      } else if (a[0] == "--payload-bytes" && a.size() >= 2) {
        payload = std::stoul(a[1]);
        a.erase(a.begin(), a.begin() + 2);
      } else {
        return usage();
      }
    }
    if (a.size() < 3) return usage();
    drain_args d{.url = a[0],
                 .topic = a[1],
                 .count = std::stoi(a[2]),
                 .idle_timeout = seconds(std::stoi(arg_or(3, "60"))),
                 .start_ms = std::stoll(arg_or(4, "0")),
                 .reversed = reversed,
                 .payload = payload};
    asio::io_context io(1);
    asio::co_spawn(io, drain(&d), asio::detached);
    io.run();
    return d.received == d.count ? 0 : 1;
  }
  if (what == "latency" && a.size() >= 5) {
    latency_state st;
    st.url = a[0];
    st.in = a[1];
    st.out = a[2];
    st.rate = std::stoi(a[3]);
    st.seconds = std::stoi(a[4]);
    st.payload = std::stoul(arg_or(5, "100"));
    asio::io_context io(1);
    asio::co_spawn(io, latency(&st), asio::detached);
    io.run();
    return static_cast<int>(st.latencies_ms.size()) == st.rate * st.seconds ? 0 : 1;
  }
  if (what == "raw" && a.size() >= 3) {
    return raw(a[0], a[1], std::stoi(a[2]), std::stoul(arg_or(3, "100")));
  }
  if (what == "raw-stream" && a.size() >= 3) {
    return raw_stream(a[0], a[1], std::stoi(a[2]), std::stoul(arg_or(3, "100")));
  }
  return usage();
}
