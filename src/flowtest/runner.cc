#include "flowtest/runner.h"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <filesystem>
#include <map>
#include <memory>

#include "base/notifier.h"
#include "base/temp_dir.h"
#include "broker/broker.h"
#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "event/uuid.h"
#include "flow/runtime.h"
#include "flowtest/messages.h"

namespace shfn::flowtest {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// How long a runtime may take to subscribe everything on a broker in the same process.
constexpr auto ready_timeout = 60s;
// How often a case asks whether the flow has become quiescent.
constexpr auto quiescence_poll = 10ms;

// What the cases of a file share: the client, producers by topic, display output, the hooks.
struct file_context {
  client::client& client;
  broker::broker_thread& broker;
  const flow::runtime* runtime = nullptr;
  const run_hooks& hooks;
  std::map<std::string, std::unique_ptr<client::producer>> producers;
  std::vector<std::string> display;  // blocks `display` steps printed during the current case
  int subscriptions = 0;
};

bool selected(const file_context& ctx, const test_case& tc) {
  return !ctx.hooks.selected || ctx.hooks.selected(tc);
}

std::vector<std::string> take_log(const file_context& ctx) {
  return ctx.hooks.take_log ? ctx.hooks.take_log() : std::vector<std::string>{};
}

// One expected topic, watched for the duration of a case.
struct watch {
  const topic_expectation* expect = nullptr;
  std::unique_ptr<client::consumer> consumer;
  std::vector<message> got;
};

// The coroutines below take what they share by pointer: it lives on run_test_file()'s stack (or
// run_case()'s frame, which waits for its collect() loops), and no coroutine holds a reference.
asio::awaitable<void> collect(watch* watched, notifier* wake, gate::holder) {
  watch& w = *watched;
  notifier& changed = *wake;
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

asio::awaitable<result<client::producer*>> producer_for(file_context* context, std::string topic) {
  file_context& ctx = *context;
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
asio::awaitable<bool> subscribe_all(file_context* context, const test_case* tcase,
                                    std::vector<std::unique_ptr<watch>>* watching,
                                    case_outcome* into) {
  file_context& ctx = *context;
  const test_case& tc = *tcase;
  std::vector<std::unique_ptr<watch>>& watches = *watching;
  case_outcome& out = *into;
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

asio::awaitable<bool> send_all(file_context* context, const test_case* tcase, case_outcome* into) {
  file_context& ctx = *context;
  const test_case& tc = *tcase;
  case_outcome& out = *into;
  for (const auto& s : tc.sends) {
    auto p = co_await producer_for(&ctx, s.topic);
    if (!p) {
      out.lines.push_back(fmt::format("{}:{}:{}: cannot publish to {}: {}", s.at.where.file,
                                      s.at.where.line, s.at.where.column, s.topic,
                                      p.error().message()));
      co_return false;
    }
    auto m = message_for(s, event::uuid_v4());
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
asio::awaitable<bool> quiescent(file_context* context) {
  file_context& ctx = *context;
  if (!ctx.runtime->idle()) co_return false;
  const std::uint64_t backlog = co_await ctx.broker.backlog();
  co_return backlog == 0 && ctx.runtime->idle();
}

// Waits until the flow is quiescent, an unexpected message has come (the case has failed), or
// `until`; false at `until`.
asio::awaitable<bool> settle(file_context* context,
                             const std::vector<std::unique_ptr<watch>>* watching, notifier* wake,
                             clock::time_point until) {
  file_context& ctx = *context;
  const std::vector<std::unique_ptr<watch>>& watches = *watching;
  notifier& changed = *wake;
  for (;;) {
    if (any_extra(watches)) co_return true;
    const bool done = co_await quiescent(&ctx);
    if (done) co_return true;
    if (clock::now() >= until) co_return false;
    co_await changed.wait_until(std::min(until, clock::now() + quiescence_poll));
  }
}

asio::awaitable<case_outcome> run_case(file_context* context, const test_case* tcase) {
  file_context& ctx = *context;
  const test_case& tc = *tcase;
  case_outcome out;
  ctx.display.clear();
  (void)take_log(ctx);  // what came before the case is not its own
  std::vector<std::unique_ptr<watch>> watches;
  notifier changed;
  gate loops;
  const auto ex = co_await asio::this_coro::executor;
  bool ok = co_await subscribe_all(&ctx, &tc, &watches, &out);
  if (ok) {
    for (auto& w : watches)
      asio::co_spawn(ex, collect(w.get(), &changed, loops.enter()), asio::detached);
    const auto deadline = clock::now() + tc.timeout;
    ok = co_await send_all(&ctx, &tc, &out);
    while (ok && !all_arrived(watches) && clock::now() < deadline)
      co_await changed.wait_until(deadline);
    // "Nothing more comes" is part of what is tested (a message delivered twice, one that
    // should have been dropped), and can only be judged once the flow is done with what was
    // sent. Not needed once the timeout has passed.
    if (ok && all_arrived(watches) && tc.settle.count() > 0) {
      const bool settled = co_await settle(&ctx, &watches, &changed, clock::now() + tc.settle);
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
      auto v = judge(*w->expect, w->got, tc.timeout);
      out.lines.insert(out.lines.end(), v.lines.begin(), v.lines.end());
    }
  }
  out.ok = out.lines.empty();
  out.display = std::move(ctx.display);
  ctx.display.clear();
  out.log = take_log(ctx);
  co_return out;
}

// The runtime's life, seen from the cases.
struct runtime_state {
  bool ready = false;
  bool done = false;
  std::string error;
  notifier changed;
};

// Runs the cases once the runtime is ready; why they could not run, else empty.
asio::awaitable<std::string> run_cases(file_context* context, const test_file* file,
                                       flow::runtime* runtime, runtime_state* state) {
  file_context& ctx = *context;
  const test_file& test = *file;
  flow::runtime& rt = *runtime;
  runtime_state& st = *state;
  const auto deadline = clock::now() + ready_timeout;
  while (!st.ready && !st.done && clock::now() < deadline) co_await st.changed.wait_until(deadline);
  std::string not_run;
  if (!st.ready) {
    not_run = "the flow did not start: " +
              (!st.error.empty() ? st.error
                                 : fmt::format("not subscribed after {}s", ready_timeout.count()));
  } else {
    for (const auto& tc : test.cases) {
      if (!selected(ctx, tc)) continue;
      const auto started = clock::now();
      auto outcome = co_await run_case(&ctx, &tc);
      if (ctx.hooks.on_case) ctx.hooks.on_case(tc, outcome, clock::now() - started);
    }
  }
  for (auto& [topic, producer] : ctx.producers) co_await producer->close();
  ctx.producers.clear();
  rt.stop();
  while (!st.done) co_await st.changed.wait();
  ctx.client.close();
  co_return not_run;
}

}  // namespace

std::string run_test_file(const test_file& test, const config::spec_file& spec,
                          const run_hooks& hooks) {
  const temp_dir dir("shfn-test");
  if (dir.path().empty()) return "cannot create a temporary directory";
  broker::broker_options bo{.listen = "127.0.0.1:0", .data_dir = dir / "data", .admin = ""};
  bo.sync = broker::sync_mode::none;  // the data dies with the test: no fsync to wait for
  auto broker = broker::broker_thread::start(bo);
  if (!broker) return "cannot start the embedded broker: " + broker.error().message();

  asio::io_context io(1);
  client::client_options co;
  co.service_url = (*broker)->service_url();
  auto c = client::client::create(io.get_executor(), co);
  if (!c) return "cannot create a client: " + c.error().message();

  file_context ctx{.client = **c, .broker = **broker, .hooks = hooks};
  flow::plan_options po;
  po.print = [&ctx](const std::string& block) { ctx.display.push_back(block); };
  flow::plan plan = flow::make_plan(spec, po);
  if (auto made = (*broker)->create_namespaces(flow::namespaces_of(plan)); !made) {
    return "cannot create the spec's namespaces: " + made.error().message();
  }
  // A topicsPattern sees topics a case creates within a second, not a minute.
  flow::runtime_options ro{
      .scratch_dir = (dir / "scratch").string(), .drain_timeout = 5s, .pattern_discovery = 1s};
  std::filesystem::create_directories(ro.scratch_dir);
  if (test.clock) {
    auto clock = flow::source_clock::parse(*test.clock);
    if (!clock) return "invalid clock: " + clock.error().message();
    ro.clock = *clock;
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
  std::string not_run;
  asio::co_spawn(io, run_cases(&ctx, &test, &rt, &st), [&](std::exception_ptr e, std::string why) {
    if (e) {
      not_run = "internal error: the test driver threw";
      rt.stop();
    } else {
      not_run = std::move(why);
    }
  });
  io.run();
  return not_run;
}

}  // namespace shfn::flowtest
