// Cron sources against a real embedded broker (in-process, port 0) on a virtual clock that runs
// hundreds to hundreds of thousands of times faster than real time, so that minutes, days and
// daylight-saving nights pass in a fraction of a second. Every wait is on a condition with a
// deadline; the deadlines are generous and only bound a broken run.

#include "flow/cron_source.h"

#include <gtest/gtest.h>
#include <time.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "broker/broker.h"
#include "client/client.h"
#include "client/consumer.h"
#include "cron/next_tick.h"
#include "cron/schedule.h"
#include "cron/zone.h"
#include "event/pulsar_binding.h"
#include "flow/tests/restartable_broker.h"
#include "support/broker_env.h"
#include "support/coro_test.h"

namespace shfn::flow {
namespace {

using asio::awaitable;
using namespace std::chrono_literals;
using std::chrono::sys_seconds;

// Bounds a broken run; never reached by a working one.
constexpr auto patience = 20s;

sys_seconds utc(int year, int month, int day, int hour, int minute, int second = 0) {
  return sys_seconds(cron::from_civil(year, month, day, hour, minute, second).time_since_epoch());
}

// With the C library, not the code under test: "2026-03-29T01:00:00Z".
std::string rfc3339(sys_seconds t) {
  const time_t secs = static_cast<time_t>(t.time_since_epoch().count());
  struct tm fields{};
  gmtime_r(&secs, &fields);
  char text[32];
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &fields);
  return text;
}

sys_seconds floor_seconds(sys_time t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}

cron::zone load_zone(const std::string& name) {
  if (name.empty()) return cron::zone::utc();
  auto z = cron::zone::load(name);
  EXPECT_TRUE(z.has_value()) << name;
  return z ? *z : cron::zone::utc();
}

cron::schedule parse(const std::string& text) {
  auto s = cron::parse_schedule(text);
  EXPECT_TRUE(s.has_value()) << text;
  return s ? *s : cron::schedule{};
}

config::cron_source_spec make_spec(const std::string& name, const std::string& schedule,
                                   const std::string& timezone, const std::string& topic) {
  config::cron_source_spec s;
  s.name = name;
  s.kind = "PingSource";
  s.schedule = schedule;
  s.timezone = timezone;
  s.data = R"({"message": "Even or odd?"})";
  s.content_type = "application/json";
  s.type = "dev.knative.sources.ping";
  s.source = "/apis/v1/namespaces/default/pingsources/" + name;
  s.extensions = {{"team", "cron"}, {"shard", "7"}};
  s.sink.type = config::sink_spec::kind::topic;
  s.sink.topic = topic;
  return s;
}

// ------------------------------------------------------------------------------ source_clock

TEST(source_clock, parses_a_start_and_a_speed) {
  const auto before = clock::now();
  auto c = source_clock::parse("2026-03-29T00:58:00Z*600");
  const auto after = clock::now();
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_TRUE(c->is_virtual());
  // now() at the moment of parsing was the start: steady_at(start) lies within the call.
  const auto at = c->steady_at(sys_time(utc(2026, 3, 29, 0, 58)));
  EXPECT_GE(at, before);
  EXPECT_LE(at, after + 1ms);
  // A minute of the virtual clock is a tenth of a second of the steady one.
  EXPECT_EQ(std::chrono::round<std::chrono::milliseconds>(
                c->steady_at(sys_time(utc(2026, 3, 29, 0, 59))) - at),
            100ms);
}

TEST(source_clock, accepts_offsets_fractions_and_a_default_speed) {
  auto offset = source_clock::parse("2026-03-29T02:58:00+02:00*2");
  auto utc_form = source_clock::parse("2026-03-29t00:58:00.250z");
  ASSERT_TRUE(offset.has_value());
  ASSERT_TRUE(utc_form.has_value());
  // Both start near 00:58:00Z (the fraction and a few steady milliseconds apart).
  const auto start = sys_time(utc(2026, 3, 29, 0, 58));
  EXPECT_GE(offset->now(), start);
  EXPECT_LT(offset->now(), start + 5s);
  EXPECT_GE(utc_form->now(), start + 250ms);
  EXPECT_LT(utc_form->now(), start + 5s);
  // No speed: real time from that start.
  const auto t0 = clock::now();
  const auto v0 = utc_form->now();
  while (clock::now() < t0 + 20ms) {
  }
  EXPECT_GE(utc_form->now() - v0, 19ms);
  EXPECT_LT(utc_form->now() - v0, 10s);
}

TEST(source_clock, refuses_bad_values_with_what_was_expected) {
  for (const char* bad : {"", "tomorrow", "2026-03-29T00:58:00", "2026-02-30T00:00:00Z",
                          "2026-03-29 00:58:00Z", "2026-03-29T00:58:00Z600"}) {
    auto c = source_clock::parse(bad);
    ASSERT_FALSE(c.has_value()) << bad;
    EXPECT_NE(c.error().message().find("expected START[*SPEED], such as 2026-03-29T00:58:00Z*600"),
              std::string::npos)
        << c.error().message();
  }
  EXPECT_NE(source_clock::parse("2026-03-29T00:58:00").error().message().find("RFC 3339"),
            std::string::npos);
  for (const char* bad :
       {"2026-03-29T00:58:00Z*", "2026-03-29T00:58:00Z*0", "2026-03-29T00:58:00Z*-2",
        "2026-03-29T00:58:00Z*fast", "2026-03-29T00:58:00Z*inf", "2026-03-29T00:58:00Z*nan",
        "2026-03-29T00:58:00Z*2x"}) {
    auto c = source_clock::parse(bad);
    ASSERT_FALSE(c.has_value()) << bad;
    EXPECT_NE(c.error().message().find("speed"), std::string::npos) << c.error().message();
  }
}

TEST(source_clock, runs_speed_times_faster_than_the_steady_clock) {
  const auto start = sys_time(utc(2026, 1, 1, 0, 0));
  const auto made_before = clock::now();
  const auto c = source_clock::virtual_clock(start, 1000);
  const auto made_after = clock::now();
  while (clock::now() < made_after + 30ms) {
  }
  const auto read_before = clock::now();
  const auto now = c.now();
  const auto read_after = clock::now();
  // 1000 times the steady time that passed, within what the reads can tell apart.
  using ms = std::chrono::milliseconds;
  EXPECT_GE(now - start, std::chrono::floor<ms>((read_before - made_after) * 1000) - 1ms);
  EXPECT_LE(now - start, std::chrono::ceil<ms>((read_after - made_before) * 1000) + 1ms);
  // steady_at inverts now().
  const auto back = c.steady_at(now);
  EXPECT_GE(back, read_before - 1us);
  EXPECT_LE(back, read_after + 1us);
}

TEST(source_clock, the_system_clock) {
  const source_clock c;
  EXPECT_FALSE(c.is_virtual());
  const auto before =
      std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  const auto now = c.now();
  EXPECT_GE(now, before);
  EXPECT_LT(now, before + 10s);
  const auto in_a_minute = c.steady_at(now + 60s);
  EXPECT_GT(in_a_minute, clock::now() + 50s);
  EXPECT_LT(in_a_minute, clock::now() + 61s);
  // A tick in the year 9999 does not overflow the steady clock.
  EXPECT_GT(c.steady_at(sys_time(utc(9999, 12, 31, 23, 59))), clock::now() + 24h * 365 * 100);
}

// ------------------------------------------------------------------------------ with a broker

struct received_tick {
  sys_seconds time;  // parsed back from the event's `time`
  event::cloud_event event;
  client::message message;
};

// One source started and run on the test's io_context.
struct driven_source {
  std::unique_ptr<cron_source> source;
  source_clock clock;
  sys_time started_before{};  // the clock just before start() was called
  sys_time started_after{};   // the clock once start() had returned
  bool started = false;
  bool finished = false;
  result<void> start_result;
  notifier changed;
};

awaitable<void> drive(driven_source* d) {
  d->started_before = d->clock.now();
  auto started = co_await d->source->start();
  d->started_after = d->clock.now();
  d->start_result = started;
  d->started = true;
  d->changed.notify_all();
  if (started) co_await d->source->run();
  d->finished = true;
  d->changed.notify_all();
}

awaitable<bool> wait_started(driven_source* d) {
  const auto deadline = clock::now() + patience;
  while (!d->started && clock::now() < deadline) co_await d->changed.wait_until(deadline);
  co_return d->started;
}

awaitable<bool> stop_and_wait(driven_source* d) {
  d->source->stop();
  const auto deadline = clock::now() + patience;
  while (!d->finished && clock::now() < deadline) co_await d->changed.wait_until(deadline);
  co_return d->finished;
}

void launch(asio::io_context& io, driven_source& d) {
  asio::co_spawn(io, drive(&d), asio::detached);
}

// Decodes a tick's message; a failure is recorded and the tick has time 0.
received_tick decode_tick(client::message m) {
  received_tick t{.time = {}, .event = {}, .message = std::move(m)};
  auto decoded = event::decode(t.message.properties, t.message.payload);
  EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : decoded.error().to_string());
  if (!decoded) return t;
  EXPECT_EQ(decoded->mode, event::content_mode::binary);
  t.event = decoded->event;
  auto parsed = source_clock::parse(t.event.time.value_or("none"));
  EXPECT_TRUE(parsed.has_value()) << t.event.time.value_or("none");
  if (parsed) t.time = floor_seconds(parsed->now());
  return t;
}

awaitable<std::vector<received_tick>> receive_ticks(client::consumer* c, std::size_t n) {
  std::vector<received_tick> ticks;
  const auto deadline = clock::now() + patience;
  while (ticks.size() < n) {
    auto m = co_await c->receive(deadline);
    if (!m) {
      ADD_FAILURE() << "received " << ticks.size() << " of " << n
                    << " ticks: " << m.error().message();
      break;
    }
    ticks.push_back(decode_tick(std::move(*m)));
  }
  co_return ticks;
}

// What a user relies on for every tick: the event is the spec's, timed at the tick, with a
// fresh id; the message carries the tick as event time and sequence id.
void expect_tick_event(const received_tick& t, const config::cron_source_spec& spec) {
  const auto& e = t.event;
  EXPECT_EQ(e.specversion, "1.0");
  EXPECT_EQ(e.type, spec.type);
  EXPECT_EQ(e.source, spec.source);
  EXPECT_EQ(e.datacontenttype, spec.content_type);
  EXPECT_TRUE(e.has_data);
  EXPECT_EQ(std::string(e.data.begin(), e.data.end()), spec.data);
  EXPECT_EQ(e.extensions, spec.extensions);
  EXPECT_EQ(e.time, rfc3339(t.time));
  EXPECT_EQ(e.id.size(), 36u);
  EXPECT_EQ(e.id[14], '4') << e.id;  // a version 4 UUID
  EXPECT_EQ(t.message.event_time,
            static_cast<std::uint64_t>(t.time.time_since_epoch().count()) * 1000);
  EXPECT_EQ(t.message.sequence_id, static_cast<std::uint64_t>(t.time.time_since_epoch().count()));
  EXPECT_EQ(t.message.producer_name, spec.name);
  EXPECT_EQ(t.message.key, spec.name);
}

// The first tick is the first after the moment start() was called, which lies between the two
// readings of the clock around it; next_tick is monotonic, so the first tick lies between the
// ticks after each reading (equal unless a tick fell between them).
void expect_first_tick(sys_seconds first, const driven_source& d, const cron::schedule& s,
                       const cron::zone& z) {
  const auto lo = cron::next_tick(s, z, floor_seconds(d.started_before));
  const auto hi = cron::next_tick(s, z, floor_seconds(d.started_after));
  ASSERT_TRUE(lo && hi);
  EXPECT_GE(first, *lo) << rfc3339(first) << " before the first tick after start " << rfc3339(*lo);
  EXPECT_LE(first, *hi) << rfc3339(first) << " skipped " << rfc3339(*hi);
}

// Consecutive ticks of the schedule, as cron::next_tick chains them, each once.
void expect_chain(const std::vector<received_tick>& ticks, const cron::schedule& s,
                  const cron::zone& z) {
  for (std::size_t i = 1; i < ticks.size(); ++i) {
    const auto expected = cron::next_tick(s, z, ticks[i - 1].time);
    ASSERT_TRUE(expected);
    EXPECT_EQ(rfc3339(ticks[i].time), rfc3339(*expected)) << "tick " << i;
  }
  std::set<std::string> ids;
  for (const auto& t : ticks) ids.insert(t.event.id);
  EXPECT_EQ(ids.size(), ticks.size()) << "event ids repeat";
}

// The broker with a client and a consumer of the sink topic at hand.
struct test_broker : testing::restartable_broker {
  test_broker() : restartable_broker("shfn-cron-source-test") {}

  awaitable<std::unique_ptr<client::client>> make_client(asio::io_context* io) {
    auto c = client::client::create(io->get_executor(), {.service_url = url});
    EXPECT_TRUE(c.has_value());
    co_return c ? std::move(*c) : nullptr;
  }

  awaitable<std::unique_ptr<client::consumer>> subscribe(client::client* c) {
    const client::consumer_options options{
        .topic = topic, .subscription = "test", .position = client::initial_position::earliest};
    auto consumer = co_await c->subscribe(options);
    EXPECT_TRUE(consumer.has_value()) << consumer.error().message();
    co_return consumer ? std::move(*consumer) : nullptr;
  }

  std::string topic = "persistent://public/default/" + shfn::testing::unique_topic("cron");
};

class cron_source_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(b_.dir.path().empty());
    b_.start("127.0.0.1:0");
  }

  test_broker b_;
};

awaitable<void> every_minute(asio::io_context* io, test_broker* b) {
  auto c = co_await b->make_client(io);
  CO_ASSERT_TRUE(c);
  auto consumer = co_await b->subscribe(c.get());
  CO_ASSERT_TRUE(consumer);
  const auto spec = make_spec("ping", "* * * * *", "", b->topic);
  driven_source d;
  // A minute per 50 ms.
  d.clock = source_clock::virtual_clock(sys_time(utc(2026, 3, 29, 0, 58)), 1200);
  d.source = std::make_unique<cron_source>(*c, spec, cron_source_options{.clock = d.clock});
  EXPECT_FALSE(d.source->ready());
  EXPECT_TRUE(d.source->status()["next_tick"].is_null());
  launch(*io, d);
  const bool started = co_await wait_started(&d);
  CO_ASSERT_TRUE(started && d.start_result.has_value());

  auto status = d.source->status();
  EXPECT_EQ(status["source"], "ping");
  EXPECT_EQ(status["kind"], "PingSource");
  EXPECT_EQ(status["schedule"], "* * * * *");
  EXPECT_EQ(status["timezone"], "UTC");
  EXPECT_EQ(status["sink"], b->topic);
  EXPECT_EQ(status["ready"], true);
  EXPECT_TRUE(status["next_tick"].is_string());

  auto ticks = co_await receive_ticks(consumer.get(), 24);
  CO_ASSERT_TRUE(ticks.size() == 24);
  const auto s = parse("* * * * *");
  expect_first_tick(ticks.front().time, d, s, cron::zone::utc());
  expect_chain(ticks, s, cron::zone::utc());
  for (const auto& t : ticks) {
    expect_tick_event(t, spec);
    EXPECT_EQ(t.time.time_since_epoch() % 60s, 0s);
  }
  for (std::size_t i = 1; i < ticks.size(); ++i) {
    EXPECT_EQ(ticks[i].time - ticks[i - 1].time, 60s);
  }

  status = d.source->status();
  EXPECT_GE(status["ticks"].get<std::uint64_t>(), 24u);
  EXPECT_TRUE(status["last_tick"].is_string());
  const bool finished = co_await stop_and_wait(&d);
  EXPECT_TRUE(finished);
  EXPECT_FALSE(d.source->ready());
  co_await consumer->close();
  c->close();
}

TEST_F(cron_source_test, every_minute_emits_each_minute_once_with_the_specs_event) {
  testing::run_coroutine([this](asio::io_context& io) { return every_minute(&io, &b_); });
}

awaitable<void> without_data(asio::io_context* io, test_broker* b) {
  auto c = co_await b->make_client(io);
  CO_ASSERT_TRUE(c);
  auto consumer = co_await b->subscribe(c.get());
  CO_ASSERT_TRUE(consumer);
  auto spec = make_spec("bare", "*/5 * * * *", "", b->topic);
  spec.data.clear();
  spec.content_type.clear();
  spec.extensions.clear();
  driven_source d;
  d.clock = source_clock::virtual_clock(sys_time(utc(2026, 7, 1, 12, 0)), 6000);
  d.source = std::make_unique<cron_source>(*c, spec, cron_source_options{.clock = d.clock});
  launch(*io, d);
  auto ticks = co_await receive_ticks(consumer.get(), 3);
  CO_ASSERT_TRUE(ticks.size() == 3);
  for (const auto& t : ticks) {
    EXPECT_FALSE(t.event.has_data);
    EXPECT_TRUE(t.message.payload.empty());
    EXPECT_FALSE(t.event.datacontenttype.has_value());
    EXPECT_TRUE(t.event.extensions.empty());
    EXPECT_EQ(t.time.time_since_epoch() % 300s, 0s);
  }
  co_await stop_and_wait(&d);
  co_await consumer->close();
  c->close();
}

TEST_F(cron_source_test, an_event_without_data_has_none) {
  testing::run_coroutine([this](asio::io_context& io) { return without_data(&io, &b_); });
}

struct dst_case {
  const char* name;
  const char* schedule;
  const char* zone;
  sys_seconds start;
  double speed;
  std::size_t count;
  std::vector<sys_seconds> must_have;      // known ticks, worked out by hand
  std::vector<sys_seconds> must_not_have;  // instants a doubled or naive tick would use
};

// Test names and failure messages show the case's name, not its bytes.
void PrintTo(const dst_case& c, std::ostream* os) {
  *os << c.name;
}

class cron_source_dst_test : public cron_source_test,
                             public ::testing::WithParamInterface<dst_case> {};

awaitable<void> across_dst(asio::io_context* io, test_broker* b, dst_case p) {
  auto c = co_await b->make_client(io);
  CO_ASSERT_TRUE(c);
  auto consumer = co_await b->subscribe(c.get());
  CO_ASSERT_TRUE(consumer);
  const auto spec = make_spec(std::string("dst-") + p.name, p.schedule, p.zone, b->topic);
  driven_source d;
  d.clock = source_clock::virtual_clock(sys_time(p.start), p.speed);
  d.source = std::make_unique<cron_source>(*c, spec, cron_source_options{.clock = d.clock});
  launch(*io, d);
  auto ticks = co_await receive_ticks(consumer.get(), p.count);
  CO_ASSERT_TRUE(ticks.size() == p.count);
  const auto s = parse(p.schedule);
  const auto z = load_zone(p.zone);
  expect_first_tick(ticks.front().time, d, s, z);
  expect_chain(ticks, s, z);
  std::set<sys_seconds> seen;
  for (const auto& t : ticks) seen.insert(t.time);
  EXPECT_EQ(seen.size(), ticks.size()) << "a tick came twice";
  for (const auto& t : p.must_have) EXPECT_TRUE(seen.contains(t)) << "missing " << rfc3339(t);
  for (const auto& t : p.must_not_have) EXPECT_FALSE(seen.contains(t)) << "extra " << rfc3339(t);
  co_await stop_and_wait(&d);
  co_await consumer->close();
  c->close();
}

TEST_P(cron_source_dst_test, ticks_follow_next_tick_across_the_change) {
  testing::run_coroutine([this](asio::io_context& io) { return across_dst(&io, &b_, GetParam()); });
}

INSTANTIATE_TEST_SUITE_P(
    daylight_saving, cron_source_dst_test,
    ::testing::Values(
        // 02:30 does not happen in Berlin on 2026-03-29: it fires when the gap ends, 03:00 CEST.
        dst_case{
            .name = "berlin_spring_fixed",
            .schedule = "30 2 * * *",
            .zone = "Europe/Berlin",
            .start = utc(2026, 3, 27, 12, 0),
            .speed = 432000,  // five days a second
            .count = 4,
            .must_have = {utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)},
            .must_not_have = {utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30)}},
        // 02:30 happens twice in Berlin on 2026-10-25: it fires on the first pass only.
        dst_case{.name = "berlin_fall_fixed",
                 .schedule = "30 2 * * *",
                 .zone = "Europe/Berlin",
                 .start = utc(2026, 10, 23, 12, 0),
                 .speed = 432000,
                 .count = 4,
                 .must_have = {utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30),
                               utc(2026, 10, 26, 1, 30)},
                 .must_not_have = {utc(2026, 10, 25, 1, 30)}},
        // A wildcard schedule follows real time through the repeated hour in New York:
        // 01:30 EDT, 01:00 EST and 01:30 EST all fire.
        dst_case{
            .name = "new_york_fall_wildcard",
            .schedule = "*/30 * * * *",
            .zone = "America/New_York",
            .start = utc(2026, 11, 1, 3, 10),  // 23:10 EDT
            .speed = 36000,                    // ten hours a second
            .count = 9,
            .must_have = {utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 0), utc(2026, 11, 1, 6, 30)},
            .must_not_have = {}},
        // ... and nothing fires in the wall-clock hour that spring skips: 01:30 EST is followed
        // by 03:00 EDT half an hour later.
        dst_case{.name = "new_york_spring_wildcard",
                 .schedule = "*/30 * * * *",
                 .zone = "America/New_York",
                 .start = utc(2026, 3, 8, 4, 10),  // 23:10 EST
                 .speed = 36000,
                 .count = 8,
                 .must_have = {utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 0)},
                 .must_not_have = {}}),
    [](const ::testing::TestParamInfo<dst_case>& info) { return std::string(info.param.name); });

// A second run of the same source whose clock starts earlier covers ticks the first run has
// published: the broker drops them (same producer name, sequence id = the tick), so the
// consumer sees every minute once across the restart.
awaitable<void> restart_covers_again(asio::io_context* io, test_broker* b) {
  auto c = co_await b->make_client(io);
  CO_ASSERT_TRUE(c);
  auto consumer = co_await b->subscribe(c.get());
  CO_ASSERT_TRUE(consumer);
  const auto spec = make_spec("restarted", "* * * * *", "", b->topic);
  const auto start = utc(2026, 5, 1, 10, 0);

  driven_source first;
  first.clock = source_clock::virtual_clock(sys_time(start), 3000);  // a minute per 20 ms
  first.source = std::make_unique<cron_source>(*c, spec, cron_source_options{.clock = first.clock});
  launch(*io, first);
  auto ticks = co_await receive_ticks(consumer.get(), 8);
  CO_ASSERT_TRUE(ticks.size() == 8);
  const bool first_finished = co_await stop_and_wait(&first);
  CO_ASSERT_TRUE(first_finished);
  const auto published_first = first.source->status()["ticks"].get<std::size_t>();
  CO_ASSERT_TRUE(published_first >= 8);

  // Five minutes before the first run's start: everything it published comes again.
  driven_source second;
  second.clock = source_clock::virtual_clock(sys_time(start - 5min), 3000);
  second.source =
      std::make_unique<cron_source>(*c, spec, cron_source_options{.clock = second.clock});
  launch(*io, second);
  const std::size_t wanted = published_first - 8 + 12;
  auto more = co_await receive_ticks(consumer.get(), wanted);
  CO_ASSERT_TRUE(more.size() == wanted);
  for (auto& t : more) ticks.push_back(std::move(t));

  const auto s = parse("* * * * *");
  expect_first_tick(ticks.front().time, first, s, cron::zone::utc());
  expect_chain(ticks, s, cron::zone::utc());
  // The second run did send the ticks it covered again, and the broker dropped them.
  EXPECT_GT(second.source->status()["ticks"].get<std::size_t>(), 12u + published_first);
  co_await stop_and_wait(&second);
  // Whatever else arrived is later than the ticks counted.
  auto extra = co_await consumer->receive(clock::now() + 100ms);
  if (extra) {
    const auto t = decode_tick(std::move(*extra));
    EXPECT_GT(t.time, ticks.back().time) << "tick " << rfc3339(t.time) << " came twice";
  }
  co_await consumer->close();
  c->close();
}

TEST_F(cron_source_test, a_restart_that_covers_published_ticks_again_repeats_none) {
  testing::run_coroutine([this](asio::io_context& io) { return restart_covers_again(&io, &b_); });
}

// Until the virtual clock shows `t`: one timer to the steady instant it does (no polling).
awaitable<void> until_virtual(source_clock c, sys_time t) {
  asio::steady_timer timer(co_await asio::this_coro::executor, c.steady_at(t));
  co_await timer.async_wait(asio::use_awaitable);
}

// The broker is down when the source starts: it keeps trying, and once the broker comes the
// ticks that fell due meanwhile are published, in order, none lost.
awaitable<void> broker_comes_later(asio::io_context* io, test_broker* b, std::string address) {
  auto c = co_await b->make_client(io);
  CO_ASSERT_TRUE(c);
  const auto spec = make_spec("patient", "* * * * *", "", b->topic);
  driven_source d;
  d.clock = source_clock::virtual_clock(sys_time(utc(2026, 6, 1, 8, 0)), 600);
  d.source = std::make_unique<cron_source>(
      *c, spec, cron_source_options{.clock = d.clock, .retry_initial = 10ms, .retry_max = 100ms});
  launch(*io, d);
  // Three ticks fall due while nothing answers.
  co_await until_virtual(d.clock, sys_time(utc(2026, 6, 1, 8, 3, 30)));
  EXPECT_FALSE(d.started);
  EXPECT_FALSE(d.source->ready());

  b->start(address);
  CO_ASSERT_TRUE(b->broker);
  auto consumer = co_await b->subscribe(c.get());
  CO_ASSERT_TRUE(consumer);
  auto ticks = co_await receive_ticks(consumer.get(), 6);
  CO_ASSERT_TRUE(ticks.size() == 6);
  EXPECT_TRUE(d.started && d.start_result.has_value());
  const auto s = parse("* * * * *");
  expect_first_tick(ticks.front().time, d, s, cron::zone::utc());
  // Ticks that fell due while the broker was away came once it was there.
  EXPECT_LT(ticks.front().time, utc(2026, 6, 1, 8, 3, 30)) << rfc3339(ticks.front().time);
  expect_chain(ticks, s, cron::zone::utc());
  for (const auto& t : ticks) expect_tick_event(t, spec);
  co_await stop_and_wait(&d);
  co_await consumer->close();
  c->close();
}

TEST_F(cron_source_test, ticks_due_while_the_broker_is_unreachable_are_published_when_it_comes) {
  const std::string address = b_.listen_address();
  b_.broker.reset();  // nothing listens on the port now
  testing::run_coroutine(
      [this, address](asio::io_context& io) { return broker_comes_later(&io, &b_, address); });
}

// stop() ends the wait for a tick far away at once.
awaitable<void> stop_while_waiting(asio::io_context* io, test_broker* b) {
  auto c = co_await b->make_client(io);
  CO_ASSERT_TRUE(c);
  driven_source d;  // the system clock: the next Feb 29 at noon is up to four years away
  d.source = std::make_unique<cron_source>(*c, make_spec("leap", "0 12 29 2 *", "", b->topic),
                                           cron_source_options{});
  launch(*io, d);
  const bool started = co_await wait_started(&d);
  CO_ASSERT_TRUE(started && d.start_result.has_value());
  EXPECT_TRUE(d.source->ready());
  const bool finished = co_await stop_and_wait(&d);
  EXPECT_TRUE(finished);
  EXPECT_EQ(d.source->status()["ticks"], 0);
  EXPECT_FALSE(d.source->ready());
  c->close();
}

TEST_F(cron_source_test, stop_wakes_a_source_waiting_for_a_distant_tick) {
  testing::run_coroutine([this](asio::io_context& io) { return stop_while_waiting(&io, &b_); });
}

// stop() while start() keeps failing to reach the broker ends start() (with an error).
awaitable<void> stop_while_retrying(asio::io_context* io, test_broker* b) {
  auto c = co_await b->make_client(io);
  CO_ASSERT_TRUE(c);
  driven_source d;
  d.clock = source_clock::virtual_clock(sys_time(utc(2026, 6, 1, 8, 0)), 1000);
  d.source =
      std::make_unique<cron_source>(*c, make_spec("never", "* * * * *", "", b->topic),
                                    cron_source_options{.clock = d.clock, .retry_initial = 5ms});
  launch(*io, d);
  // Some attempts have failed by the time a virtual minute has passed (60 ms).
  co_await until_virtual(d.clock, sys_time(utc(2026, 6, 1, 8, 1)));
  EXPECT_FALSE(d.started);
  const bool finished = co_await stop_and_wait(&d);
  EXPECT_TRUE(finished);
  EXPECT_FALSE(d.start_result.has_value());
  EXPECT_FALSE(d.source->ready());
  c->close();
}

TEST_F(cron_source_test, stop_during_start_ends_the_retries) {
  b_.broker.reset();
  testing::run_coroutine([this](asio::io_context& io) { return stop_while_retrying(&io, &b_); });
}

awaitable<void> unknown_zone(asio::io_context* io, test_broker* b) {
  auto c = co_await b->make_client(io);
  CO_ASSERT_TRUE(c);
  driven_source d;
  d.source = std::make_unique<cron_source>(
      *c, make_spec("lost", "* * * * *", "Europe/Atlantis", b->topic), cron_source_options{});
  launch(*io, d);
  const bool started = co_await wait_started(&d);
  CO_ASSERT_TRUE(started);
  EXPECT_FALSE(d.start_result.has_value());
  co_await stop_and_wait(&d);
  EXPECT_TRUE(d.finished);
  c->close();
}

TEST_F(cron_source_test, an_unknown_zone_fails_start_without_retrying) {
  testing::run_coroutine([this](asio::io_context& io) { return unknown_zone(&io, &b_); });
}

}  // namespace
}  // namespace shfn::flow
