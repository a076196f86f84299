// `shfn test TESTFILE...`: flow tests (docs/flow-tests.md), run without a cluster.
//
// Every test file is loaded and checked first (with its spec); any error there is printed as
// FILE:LINE:COL: FIELD: MESSAGE and nothing runs (exit 2). Then each file gets a fresh embedded
// broker (127.0.0.1:0, data in a temporary directory) and one flow runtime for its spec, both in
// this process. Each case subscribes to its expected topics at their latest position, sends its
// messages in order, waits until every expected message has arrived (or the timeout), then until
// the flow is quiescent (at most the settle period), and is judged (flowtest/messages.h). Exit 0
// when every case passed, 1 otherwise.
//
// Threads: the broker on a thread of its own; the runtime, the client and the cases on one
// io_context on the calling thread.

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "base/notifier.h"
#include "base/temp_dir.h"
#include "broker/broker.h"
#include "cli/common.h"
#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "config/spec.h"
#include "event/uuid.h"
#include "exec/process.h"
#include "flow/runtime.h"
#include "flowtest/messages.h"
#include "flowtest/test_file.h"

namespace shfn::cli {
namespace {

using namespace std::chrono_literals;

constexpr int exit_failed = 1;
constexpr int exit_bad_file = 2;
// How long a runtime may take to subscribe everything on a broker in the same process.
constexpr auto ready_timeout = 60s;
// How often a case asks whether the flow has become quiescent.
constexpr auto quiescence_poll = 10ms;

struct test_flags {
  std::vector<std::string> files;
  std::string only;  // run only the cases whose name contains this
  bool verbose = false;
};

// A test file that loaded, with the spec it runs.
struct prepared {
  flowtest::test_file test;
  config::spec_file spec;
};

void print_errors(const std::vector<config::spec_error>& errors) {
  for (const auto& e : errors) fmt::print(stderr, "{}\n", e.to_string());
}

std::optional<prepared> prepare(const std::string& path) {
  auto test = flowtest::load_test_file(path);
  if (!test) {
    print_errors(test.error());
    return std::nullopt;
  }
  auto spec = config::load_file(test->spec);
  if (!spec) {
    print_errors(spec.error());
    print_errors({{test->spec_at.where, test->spec_at.field,
                   fmt::format("the spec {} does not load (see above)", test->spec)}});
    return std::nullopt;
  }
  auto unresolved = flowtest::resolve(*test, *spec);
  if (test->clock) {
    if (auto clock = flow::source_clock::parse(*test->clock); !clock)
      unresolved.push_back({test->clock_at.where, test->clock_at.field,
                            "invalid clock: " + clock.error().message() +
                                " (expected e.g. \"2026-01-01T00:00:00Z\" or "
                                "\"2026-01-01T00:00:00Z*60\")"});
  }
  if (!unresolved.empty()) {
    print_errors(unresolved);
    return std::nullopt;
  }
  return prepared{std::move(*test), std::move(*spec)};
}

bool selected(const flowtest::test_case& c, const test_flags& f) {
  return f.only.empty() || c.name.find(f.only) != std::string::npos;
}

// The runtime's log (and the broker's, from its thread) while tests run: kept per case and shown
// under a case that fails, instead of interleaved with the results.
class log_capture final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> take() {
    const std::lock_guard lock(mutex_);
    return std::exchange(lines_, {});
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    std::string line(buf.data(), buf.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (lines_.size() < max_lines) lines_.push_back(std::move(line));
  }
  void flush_() override {}

 private:
  static constexpr std::size_t max_lines = 200;  // a retry loop must not fill the memory
  std::vector<std::string> lines_;
};

// Sends the default logger to a log_capture while alive.
class capture_logs {
 public:
  capture_logs() : logger_(spdlog::default_logger()), saved_(logger_->sinks()) {
    sink_->set_pattern("%l %v");
    logger_->sinks() = {sink_};
  }
  ~capture_logs() { logger_->sinks() = saved_; }
  capture_logs(const capture_logs&) = delete;
  capture_logs& operator=(const capture_logs&) = delete;

  std::vector<std::string> take() { return sink_->take(); }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<spdlog::sink_ptr> saved_;
  std::shared_ptr<log_capture> sink_ = std::make_shared<log_capture>();
};

// ---- one case ----

// What the cases of a file share: the client, producers by topic, display output, the log.
struct file_context {
  client::client& client;
  broker::broker_thread& broker;
  const flow::runtime* runtime = nullptr;
  const test_flags& flags;
  capture_logs& logs;
  std::map<std::string, std::unique_ptr<client::producer>> producers;
  std::vector<std::string> display;  // blocks `display` steps printed during the current case
  int subscriptions = 0;
};

struct case_outcome {
  bool ok = true;
  std::vector<std::string> lines;  // why it failed
  std::vector<std::string> display;
  std::vector<std::string> log;
};

// One expected topic, watched for the duration of a case.
struct watch {
  const flowtest::topic_expectation* expect = nullptr;
  std::unique_ptr<client::consumer> consumer;
  std::vector<flowtest::message> got;
};

asio::awaitable<void> collect(watch& w, notifier& changed, gate::holder) {
  for (;;) {
    auto m = co_await w.consumer->receive();
    if (!m) co_return;  // closed at the end of the case
    w.consumer->acknowledge(*m);
    w.got.push_back(
        {.payload = std::move(m->payload), .key = m->key, .properties = std::move(m->properties)});
    changed.notify_all();
  }
}

bool all_arrived(const std::vector<std::unique_ptr<watch>>& watches) {
  for (const auto& w : watches)
    if (w->got.size() < w->expect->messages.size()) return false;
  return true;
}

bool any_extra(const std::vector<std::unique_ptr<watch>>& watches) {
  for (const auto& w : watches)
    if (w->got.size() > w->expect->messages.size()) return true;
  return false;
}

asio::awaitable<result<client::producer*>> producer_for(file_context& ctx, std::string topic) {
  auto& slot = ctx.producers[topic];
  if (!slot) {
    const client::producer_options options{.topic = topic};
    auto p = co_await ctx.client.create_producer(options);
    if (!p) {
      ctx.producers.erase(topic);
      co_return fail(p.error());
    }
    slot = std::move(*p);
  }
  co_return slot.get();
}

// Subscribes to every expected topic at its latest position, so that the case sees what its own
// sends cause and nothing an earlier case left behind.
asio::awaitable<bool> subscribe_all(file_context& ctx, const flowtest::test_case& tc,
                                    std::vector<std::unique_ptr<watch>>& watches,
                                    case_outcome& out) {
  for (const auto& e : tc.expects) {
    const client::consumer_options options{
        .topic = e.topic,
        .subscription = fmt::format("shfn-test-{}", ++ctx.subscriptions),
        .type = client::subscription_type::exclusive,
        .position = client::initial_position::latest};
    auto c = co_await ctx.client.subscribe(options);
    if (!c) {
      out.lines.push_back(fmt::format("cannot subscribe to {}: {}", e.topic, c.error().message()));
      co_return false;
    }
    auto w = std::make_unique<watch>();
    w->expect = &e;
    w->consumer = std::move(*c);
    watches.push_back(std::move(w));
  }
  co_return true;
}

asio::awaitable<bool> send_all(file_context& ctx, const flowtest::test_case& tc,
                               case_outcome& out) {
  for (const auto& s : tc.sends) {
    auto p = co_await producer_for(ctx, s.topic);
    if (!p) {
      out.lines.push_back(fmt::format("{}:{}:{}: cannot publish to {}: {}", s.at.where.file,
                                      s.at.where.line, s.at.where.column, s.topic,
                                      p.error().message()));
      co_return false;
    }
    auto m = flowtest::message_for(s, event::uuid_v4());
    client::outgoing_message om{
        .payload = std::move(m.payload), .key = m.key, .properties = std::move(m.properties)};
    auto sent = co_await (*p)->send(std::move(om));
    if (!sent) {
      out.lines.push_back(fmt::format("{}:{}:{}: publishing to {} failed: {}", s.at.where.file,
                                      s.at.where.line, s.at.where.column, s.topic,
                                      sent.error().message()));
      co_return false;
    }
  }
  co_return true;
}

// Whether the flow has nothing left to do with what was sent: no subscription has a backlog (every
// stage has processed and acknowledged what reached it, and the case has received what they
// published) and nothing is in flight in the runtime (at-most-once stages acknowledge first).
asio::awaitable<bool> quiescent(file_context& ctx) {
  if (!ctx.runtime->idle()) co_return false;
  const std::uint64_t backlog = co_await ctx.broker.backlog();
  co_return backlog == 0 && ctx.runtime->idle();
}

// Waits until the flow is quiescent, an unexpected message has come (the case has failed), or
// `until`; false at `until`.
asio::awaitable<bool> settle(file_context& ctx, const std::vector<std::unique_ptr<watch>>& watches,
                             notifier& changed, clock::time_point until) {
  for (;;) {
    if (any_extra(watches)) co_return true;
    const bool done = co_await quiescent(ctx);
    if (done) co_return true;
    if (clock::now() >= until) co_return false;
    co_await changed.wait_until(std::min(until, clock::now() + quiescence_poll));
  }
}

asio::awaitable<case_outcome> run_case(file_context& ctx, const flowtest::test_case& tc) {
  case_outcome out;
  ctx.display.clear();
  (void)ctx.logs.take();  // what came before the case is not its own
  std::vector<std::unique_ptr<watch>> watches;
  notifier changed;
  gate loops;
  const auto ex = co_await asio::this_coro::executor;
  bool ok = co_await subscribe_all(ctx, tc, watches, out);
  if (ok) {
    for (auto& w : watches) asio::co_spawn(ex, collect(*w, changed, loops.enter()), asio::detached);
    const auto deadline = clock::now() + tc.timeout;
    ok = co_await send_all(ctx, tc, out);
    while (ok && !all_arrived(watches) && clock::now() < deadline)
      co_await changed.wait_until(deadline);
    // "Nothing more comes" is part of what is tested (a message delivered twice, one that
    // should have been dropped), and can only be judged once the flow is done with what was
    // sent. Not needed once the timeout has passed.
    if (ok && all_arrived(watches) && tc.settle.count() > 0) {
      const bool settled = co_await settle(ctx, watches, changed, clock::now() + tc.settle);
      if (!settled) {
        out.lines.push_back(fmt::format(
            "the flow was still busy {} ms after the expected messages came (a backlog, or "
            "messages in flight): more may come; give the case a longer settle",
            tc.settle.count()));
      }
    }
  }
  for (auto& w : watches) {
    // Unsubscribing drops the subscription, so the broker keeps nothing for it.
    auto gone = co_await w->consumer->unsubscribe();
    if (!gone) co_await w->consumer->close();
  }
  co_await loops.close();
  if (ok) {
    for (const auto& w : watches) {
      auto v = flowtest::judge(*w->expect, w->got, tc.timeout);
      out.lines.insert(out.lines.end(), v.lines.begin(), v.lines.end());
    }
  }
  out.ok = out.lines.empty();
  out.display = std::move(ctx.display);
  ctx.display.clear();
  out.log = ctx.logs.take();
  co_return out;
}

// Lines of `blocks` (each may hold several), indented under a heading.
void print_block(std::string_view heading, const std::vector<std::string>& blocks) {
  if (blocks.empty()) return;
  fmt::print("        {}:\n", heading);
  for (const auto& block : blocks) {
    std::size_t start = 0;
    while (start < block.size()) {
      auto end = block.find('\n', start);
      if (end == std::string::npos) end = block.size();
      fmt::print("          {}\n", std::string_view(block).substr(start, end - start));
      start = end + 1;
    }
  }
}

void print_outcome(const flowtest::test_case& tc, const case_outcome& o, clock::duration took,
                   bool verbose) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  fmt::print("  {:<5} {} ({:.2f}s)\n", o.ok ? "ok" : "FAIL", tc.name,
             static_cast<double>(ms) / 1000);
  for (const auto& line : o.lines) fmt::print("        {}\n", line);
  if (!o.ok || verbose) {
    print_block("display printed", o.display);
    print_block("log", o.log);
  }
  std::fflush(stdout);
}

// ---- one file ----

struct totals {
  int passed = 0;
  int failed = 0;
};

// The runtime's life, seen from the cases.
struct runtime_state {
  bool ready = false;
  bool done = false;
  std::string error;
  notifier changed;
};

asio::awaitable<void> run_cases(file_context& ctx, const prepared& p, flow::runtime& rt,
                                runtime_state& st, totals& t) {
  const auto deadline = clock::now() + ready_timeout;
  while (!st.ready && !st.done && clock::now() < deadline) co_await st.changed.wait_until(deadline);
  int selected_count = 0;
  for (const auto& tc : p.test.cases) selected_count += selected(tc, ctx.flags) ? 1 : 0;
  if (!st.ready) {
    const std::string why = !st.error.empty()
                                ? st.error
                                : fmt::format("not subscribed after {}s", ready_timeout.count());
    fmt::print("  FAIL  the flow did not start: {}\n", why);
    print_block("log", ctx.logs.take());
    t.failed += selected_count;
  } else {
    for (const auto& tc : p.test.cases) {
      if (!selected(tc, ctx.flags)) continue;
      const auto started = clock::now();
      auto outcome = co_await run_case(ctx, tc);
      print_outcome(tc, outcome, clock::now() - started, ctx.flags.verbose);
      (outcome.ok ? t.passed : t.failed) += 1;
    }
  }
  for (auto& [topic, producer] : ctx.producers) co_await producer->close();
  ctx.producers.clear();
  rt.stop();
  while (!st.done) co_await st.changed.wait();
  ctx.client.close();
}

void run_file(const prepared& p, const test_flags& f, capture_logs& logs, totals& t) {
  fmt::print("{} (spec {})\n", p.test.path, p.test.spec);
  std::fflush(stdout);
  int selected_count = 0;
  for (const auto& tc : p.test.cases) selected_count += selected(tc, f) ? 1 : 0;
  auto fail_all = [&](const std::string& why) {
    fmt::print("  FAIL  {}\n", why);
    print_block("log", logs.take());
    t.failed += selected_count;
  };

  const temp_dir dir("shfn-test");
  if (dir.path().empty()) return fail_all("cannot create a temporary directory");
  broker::broker_options bo{.listen = "127.0.0.1:0", .data_dir = dir / "data", .admin = ""};
  bo.sync = broker::sync_mode::none;  // the data dies with the test: no fsync to wait for
  auto broker = broker::broker_thread::start(bo);
  if (!broker) return fail_all("cannot start the embedded broker: " + broker.error().message());

  asio::io_context io(1);
  client::client_options co;
  co.service_url = (*broker)->service_url();
  auto c = client::client::create(io.get_executor(), co);
  if (!c) return fail_all("cannot create a client: " + c.error().message());

  file_context ctx{.client = **c, .broker = **broker, .flags = f, .logs = logs};
  flow::plan_options po;
  po.print = [&ctx](const std::string& block) { ctx.display.push_back(block); };
  flow::plan plan = flow::make_plan(p.spec, po);
  // A topicsPattern sees topics a case creates within a second, not a minute.
  flow::runtime_options ro{
      .scratch_dir = (dir / "scratch").string(), .drain_timeout = 5s, .pattern_discovery = 1s};
  std::filesystem::create_directories(ro.scratch_dir);
  if (p.test.clock) {
    ro.clock = *flow::source_clock::parse(*p.test.clock);  // checked by prepare()
  } else {
    plan.sources.clear();  // on the real clock, ticks would land in cases at random
  }
  flow::runtime rt(**c, std::move(plan), ro);
  ctx.runtime = &rt;

  runtime_state st;
  std::function<void()> on_ready = [&st] {
    st.ready = true;
    st.changed.notify_all();
  };
  asio::co_spawn(io, rt.run(on_ready), [&st](std::exception_ptr e, result<void> r) {
    st.done = true;
    if (e)
      st.error = "the runtime threw";
    else if (!r)
      st.error = r.error().message();
    st.changed.notify_all();
  });
  asio::co_spawn(io, run_cases(ctx, p, rt, st, t), [&](std::exception_ptr e) {
    if (e) {
      fmt::print("  FAIL  internal error: the test driver threw\n");
      t.failed += 1;
      rt.stop();
    }
  });
  io.run();
}

int run_tests(const test_flags& f) {
  std::vector<prepared> files;
  bool bad = false;
  for (const auto& path : f.files) {
    auto p = prepare(path);
    if (p)
      files.push_back(std::move(*p));
    else
      bad = true;
  }
  if (bad) return exit_bad_file;
  bool any = false;
  for (const auto& p : files)
    for (const auto& tc : p.test.cases) any = any || selected(tc, f);
  if (!any) {
    error("nothing to run", "no test case's name contains \"" + f.only + "\"");
    return exit_bad_file;
  }
  exec::ignore_sigpipe();
  totals t;
  {
    // Installed before any broker thread starts and removed after the last has been joined:
    // the logger's sinks must not change while another thread logs.
    capture_logs logs;
    for (const auto& p : files) run_file(p, f, logs, t);
  }
  fmt::print("{} passed, {} failed\n", t.passed, t.failed);
  return t.failed == 0 ? 0 : exit_failed;
}

}  // namespace

void setup_test(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<test_flags>();
  auto* cmd = app.add_subcommand(
      "test", "Run flow tests: send events, expect events on topics (docs/flow-tests.md)");
  cmd->add_option("files", f->files, "Test files (YAML)")->required();
  cmd->add_option("--only", f->only, "Run only the test cases whose name contains this text");
  cmd->add_flag("-v,--verbose", f->verbose,
                "Show what display steps printed and the runtime's log (at info level) under every "
                "case, not only under those that fail");
  cmd->callback([f, &exit_code] {
    if (f->verbose && std::getenv("SHFN_LOG") == nullptr) spdlog::set_level(spdlog::level::info);
    exit_code = run_tests(*f);
  });
}

}  // namespace shfn::cli
