#include "flow/cron_source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/this_coro.hpp>
#include <charconv>
#include <cmath>
#include <system_error>

#include "base/retry.h"
#include "client/producer.h"
#include "cron/next_tick.h"
#include "cron/schedule.h"
#include "cron/zone.h"
#include "event/event.h"
#include "event/pulsar_binding.h"
#include "event/uuid.h"

namespace shfn::flow {

using asio::awaitable;
using std::chrono::sys_seconds;

namespace {

// Why an SHFN_CLOCK value does not parse. `shfn run` prints the message after "invalid
// SHFN_CLOCK: ", so each one says what was expected.
enum class clock_errc { empty = 1, bad_start, bad_speed };

struct clock_errors final : std::error_category {
  const char* name() const noexcept override { return "shfn-clock"; }
  std::string message(int value) const override {
    static constexpr const char* expected =
        " (expected START[*SPEED], such as 2026-03-29T00:58:00Z*600)";
    switch (static_cast<clock_errc>(value)) {
      case clock_errc::empty:
        return std::string("the value is empty") + expected;
      case clock_errc::bad_start:
        return std::string("the start is not an RFC 3339 date-time with \"Z\" or an offset") +
               expected;
      case clock_errc::bad_speed:
        return std::string("the speed after \"*\" is not a number greater than 0") + expected;
    }
    return "unknown clock error";
  }
};

std::error_code make_clock_error(clock_errc e) {
  static const clock_errors category;
  return {static_cast<int>(e), category};
}

int digits(std::string_view s, std::size_t at, std::size_t count) {
  int v = 0;
  for (std::size_t i = at; i < at + count; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)", checked first by event::is_rfc3339 (ranges,
// calendar dates); sub-millisecond digits are dropped.
std::optional<sys_time> parse_rfc3339(std::string_view s) {
  if (!event::is_rfc3339(s)) return std::nullopt;
  const auto day = cron::from_civil(digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2),
                                    digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2));
  std::chrono::milliseconds fraction{0};
  std::size_t at = 19;
  if (s[at] == '.') {
    int scale = 100;
    for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, scale /= 10) {
      fraction += std::chrono::milliseconds((s[at] - '0') * scale);
    }
  }
  std::chrono::minutes offset{0};
  if (s[at] == '+' || s[at] == '-') {
    offset = std::chrono::hours(digits(s, at + 1, 2)) + std::chrono::minutes(digits(s, at + 4, 2));
    if (s[at] == '-') offset = -offset;
  }
  return sys_time(std::chrono::duration_cast<std::chrono::milliseconds>(day.time_since_epoch()) +
                  fraction - offset);
}

std::string rfc3339(sys_seconds t) {
  const auto c = cron::to_civil(std::chrono::local_seconds(t.time_since_epoch()));
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour,
                     c.minute, c.second);
}

nlohmann::json json_time(const std::optional<sys_seconds>& t) {
  return t ? nlohmann::json(rfc3339(*t)) : nlohmann::json(nullptr);
}

// The longest a wait for a tick sleeps at once: the system clock can be stepped (NTP, a resumed
// virtual machine) while the steady clock is not, so the wait looks at the time again this often.
constexpr std::chrono::seconds max_nap{10};
// After stop(), how long a tick already handed to the producer may still wait for its receipt.
constexpr std::chrono::seconds stop_grace{2};

}  // namespace

// ------------------------------------------------------------------------------ source_clock

source_clock source_clock::virtual_clock(sys_time start, double speed) {
  source_clock c;
  c.start_ = start;
  c.started_ = clock::now();
  c.speed_ = speed;
  return c;
}

result<source_clock> source_clock::parse(std::string_view value) {
  if (value.empty()) return fail(make_clock_error(clock_errc::empty));
  const auto star = value.find('*');
  const auto start = parse_rfc3339(value.substr(0, star));
  if (!start) return fail(make_clock_error(clock_errc::bad_start));
  double speed = 1;
  if (star != std::string_view::npos) {
    const std::string_view text = value.substr(star + 1);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), speed);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(speed) ||
        speed <= 0) {
      return fail(make_clock_error(clock_errc::bad_speed));
    }
  }
  return virtual_clock(*start, speed);
}

sys_time source_clock::now() const {
  if (!is_virtual()) {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
  const auto elapsed = std::chrono::duration<double, std::milli>(clock::now() - started_);
  return start_ +
         std::chrono::milliseconds(static_cast<std::int64_t>(std::floor(elapsed.count() * speed_)));
}

clock::time_point source_clock::steady_at(sys_time t) const {
  const auto base = clock::now();
  // Nanoseconds from `from` (a steady instant) to the moment now() reaches t, rounded up so that
  // now() has reached t when a timer set to the result fires; clamped instead of overflowing
  // for ticks centuries away.
  auto at = [](clock::time_point from, double ns) {
    const double target = static_cast<double>(from.time_since_epoch().count()) + std::ceil(ns);
    // (A margin below the limits: a double cannot tell nanoseconds apart up there.)
    if (target >= 0.99 * static_cast<double>(clock::duration::max().count())) {
      return clock::time_point::max();
    }
    if (target <= 0.99 * static_cast<double>(clock::duration::min().count())) {
      return clock::time_point::min();
    }
    return from + std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(ns)));
  };
  if (!is_virtual()) {
    const auto ahead = std::chrono::duration<double, std::nano>(t - now());
    return at(base, ahead.count());
  }
  const auto ahead = std::chrono::duration<double, std::nano>(t - start_);
  return at(started_, ahead.count() / speed_);
}

// ------------------------------------------------------------------------------ cron_source

// The state of one tick handed to the producer. Shared with the producer's callback, which may
// run after the waiting coroutine has given up (stop()) and gone.
struct send_state {
  std::optional<result<wire::message_id>> outcome;
  notifier done;
};

struct cron_source::impl {
  impl(client::client& c, config::cron_source_spec s, cron_source_options o)
      : client(c), spec(std::move(s)), options(std::move(o)) {}

  awaitable<result<void>> start();
  awaitable<void> run();
  void stop();

  result<void> load_schedule();
  awaitable<bool> create_producer();
  awaitable<bool> wait_for(sys_seconds tick);
  awaitable<bool> publish(sys_seconds tick);
  awaitable<std::optional<result<wire::message_id>>> send_once(client::outgoing_message m);
  awaitable<bool> pause(std::chrono::milliseconds d);
  // Retries between tries pause(): stop() cuts them short.
  retry_policy retrying();
  awaitable<result<wire::message_id>> publish_once(sys_seconds tick);
  client::outgoing_message message_for(sys_seconds tick) const;
  event::cloud_event event_for(sys_seconds tick) const;

  client::client& client;
  config::cron_source_spec spec;
  cron_source_options options;

  cron::schedule schedule;
  cron::zone zone;
  std::unique_ptr<client::producer> producer;
  std::optional<sys_seconds> next;  // the tick run() waits for
  std::optional<sys_seconds> last;  // the tick published last
  std::uint64_t ticks = 0;
  bool ready = false;
  bool stopping = false;
  clock::time_point stop_deadline;
  notifier stop_requested;
  std::shared_ptr<send_state> in_flight;
};

awaitable<result<void>> cron_source::impl::start() {
  // Ticks count from the moment start() is called, not from when the producer exists: ticks
  // that fall due while the broker cannot be reached are published once it can.
  const auto from = std::chrono::floor<std::chrono::seconds>(options.clock.now());
  if (auto loaded = load_schedule(); !loaded) co_return fail(loaded.error());
  if (auto valid = event::validate(event_for(from)); !valid) {
    spdlog::error("cron source {}: its events would be invalid: {}", spec.name,
                  valid.error().to_string());
    co_return fail(valid.error().error_code());
  }
  next = cron::next_tick(schedule, zone, from);
  if (!next) {
    spdlog::error("cron source {}: schedule \"{}\" never fires after {}", spec.name, spec.schedule,
                  rfc3339(from));
    co_return fail(std::make_error_code(std::errc::invalid_argument));
  }
  const bool made = co_await create_producer();
  if (!made) co_return fail(std::make_error_code(std::errc::operation_canceled));
  ready = true;
  spdlog::info("cron source {}: ready, schedule \"{}\" in {}, next tick at {}{}", spec.name,
               spec.schedule, zone.name(), rfc3339(*next),
               options.clock.is_virtual() ? " (virtual clock)" : "");
  co_return result<void>{};
}

result<void> cron_source::impl::load_schedule() {
  auto parsed = cron::parse_schedule(spec.schedule);
  if (!parsed) {
    spdlog::error("cron source {}: schedule \"{}\": {}", spec.name, spec.schedule,
                  parsed.error().message);
    return fail(std::make_error_code(std::errc::invalid_argument));
  }
  schedule = std::move(*parsed);
  const std::string& zone_name = spec.timezone.empty() ? schedule.zone_name : spec.timezone;
  if (zone_name.empty()) return {};  // UTC
  auto loaded = cron::zone::load(zone_name);
  if (!loaded) {
    spdlog::error("cron source {}: {}", spec.name, loaded.error().message);
    return fail(std::make_error_code(std::errc::invalid_argument));
  }
  zone = std::move(*loaded);
  return {};
}

// The producer is named after the source (a DNS label, unique in the file across kinds, so no
// function's producer has the name): the broker refuses a second producer of the same name on
// the topic, so a second replica keeps retrying here instead of publishing every tick twice,
// and deduplication remembers the last tick per name across restarts.
awaitable<bool> cron_source::impl::create_producer() {
  const client::producer_options popts{.topic = spec.sink.topic, .name = spec.name};
  const retry_policy::attempt_fn<std::unique_ptr<client::producer>> attempt = [this, &popts] {
    return client.create_producer(popts);
  };
  const retry_policy::failure_fn failed = [this](const std::error_code& error,
                                                 std::chrono::milliseconds delay) {
    spdlog::warn("cron source {}: cannot create a producer on {}: {}; retrying in {} ms", spec.name,
                 spec.sink.topic, error.message(), delay.count());
  };
  if (stopping) co_return false;
  const retry_policy retry = retrying();
  auto made = co_await retry.until_done(attempt, failed);
  if (made) producer = std::move(*made);
  co_return producer != nullptr;
}

awaitable<void> cron_source::impl::run() {
  if (!producer) co_return;  // start() did not succeed
  while (!stopping && next) {
    const sys_seconds tick = *next;
    const bool due = co_await wait_for(tick);
    if (!due) break;
    const bool published = co_await publish(tick);
    if (!published) break;
    last = tick;
    ++ticks;
    // From the last tick, not from now: after a slow turn every tick that fell due since is
    // still ahead, and none comes twice.
    next = cron::next_tick(schedule, zone, tick);
  }
  if (producer) co_await producer->close();
  ready = false;
  spdlog::info("cron source {}: stopped after {} tick(s){}", spec.name, ticks,
               last ? ", the last at " + rfc3339(*last) : std::string());
}

void cron_source::impl::stop() {
  if (stopping) return;
  stopping = true;
  stop_deadline = clock::now() + stop_grace;
  stop_requested.notify_all();
  if (in_flight) in_flight->done.notify_all();
}

awaitable<bool> cron_source::impl::wait_for(sys_seconds tick) {
  while (!stopping) {
    if (options.clock.now() >= tick) co_return true;
    const auto wake = std::min(options.clock.steady_at(tick), clock::now() + max_nap);
    co_await stop_requested.wait_until(wake);
  }
  co_return false;
}

// Until the broker has the tick, or stop(). A retry sends the same sequence id, so a tick whose
// receipt was lost is not stored twice.
awaitable<bool> cron_source::impl::publish(sys_seconds tick) {
  int failures = 0;
  const retry_policy::attempt_fn<wire::message_id> attempt = [this, tick] {
    return publish_once(tick);
  };
  const retry_policy::failure_fn failed = [this, tick, &failures](const std::error_code& error,
                                                                  std::chrono::milliseconds delay) {
    if (stopping) return;
    ++failures;
    spdlog::warn("cron source {}: cannot publish the tick of {} to {}: {}; retrying in {} ms",
                 spec.name, rfc3339(tick), spec.sink.topic, error.message(), delay.count());
  };
  const retry_policy retry = retrying();
  const auto published = co_await retry.until_done(attempt, failed);
  if (!published) co_return false;
  if (failures > 0) {
    spdlog::info("cron source {}: published the tick of {} after {} failed attempt(s)", spec.name,
                 rfc3339(tick), failures);
  } else {
    spdlog::debug("cron source {}: published the tick of {}", spec.name, rfc3339(tick));
  }
  co_return true;
}

// One attempt; operation_canceled when stop() came and the receipt did not follow.
awaitable<result<wire::message_id>> cron_source::impl::publish_once(sys_seconds tick) {
  auto sent = co_await send_once(message_for(tick));
  if (!sent) co_return fail(std::make_error_code(std::errc::operation_canceled));
  co_return *sent;
}

// The outcome, or nullopt when stop() came and the receipt did not follow within stop_grace.
awaitable<std::optional<result<wire::message_id>>> cron_source::impl::send_once(
    client::outgoing_message m) {
  auto state = std::make_shared<send_state>();
  in_flight = state;
  // Named, not a temporary: GCC 12 destroys capturing lambda temporaries in co_await twice.
  client::send_callback done = [state](result<wire::message_id> outcome) {
    state->outcome = std::move(outcome);
    state->done.notify_all();
  };
  co_await producer->send_async(std::move(m), done);
  while (!state->outcome) {
    const auto deadline = stopping ? stop_deadline : clock::time_point::max();
    const bool woken = co_await state->done.wait_until(deadline);
    if (!woken && !state->outcome) break;
  }
  in_flight.reset();
  co_return state->outcome;
}

retry_policy cron_source::impl::retrying() {
  return {.initial = options.retry_initial,
          .max = options.retry_max,
          .pause = [this](std::chrono::milliseconds d) { return pause(d); }};
}

awaitable<bool> cron_source::impl::pause(std::chrono::milliseconds d) {
  if (!stopping) co_await stop_requested.wait_until(clock::now() + d);
  co_return !stopping;
}

event::cloud_event cron_source::impl::event_for(sys_seconds tick) const {
  event::cloud_event e;
  e.id = event::uuid_v4();
  e.source = spec.source;
  e.type = spec.type;
  if (!spec.content_type.empty()) e.datacontenttype = spec.content_type;
  e.time = rfc3339(tick);
  e.extensions = spec.extensions;
  e.data.assign(spec.data.begin(), spec.data.end());
  e.has_data = !spec.data.empty();
  return e;
}

client::outgoing_message cron_source::impl::message_for(sys_seconds tick) const {
  event::message_parts parts = event::encode_binary(event_for(tick));
  const auto seconds = tick.time_since_epoch().count();
  return {
      .payload = std::move(parts.payload),
      // One key for every tick: on a partitioned sink they all go to one partition, whose
      // deduplication then sees every sequence id of the source (round robin would send a
      // re-covered tick to another partition than the first time).
      .key = spec.name,
      .properties = std::move(parts.props),
      .event_time = static_cast<std::uint64_t>(seconds) * 1000,
      .sequence_id = static_cast<std::uint64_t>(seconds),
  };
}

cron_source::cron_source(client::client& c, config::cron_source_spec spec,
                         cron_source_options options)
    : impl_(std::make_unique<impl>(c, std::move(spec), std::move(options))) {}

cron_source::~cron_source() = default;

awaitable<result<void>> cron_source::start() {
  co_return co_await impl_->start();
}

awaitable<void> cron_source::run() {
  co_await impl_->run();
}

void cron_source::stop() {
  impl_->stop();
}

bool cron_source::ready() const {
  return impl_->ready;
}

source_counts cron_source::counts() const {
  return {.received = impl_->ticks, .written = impl_->ticks};
}

const config::cron_source_spec& cron_source::spec() const {
  return impl_->spec;
}

nlohmann::json cron_source::status() const {
  const impl& s = *impl_;
  return {
      {"source", s.spec.name},
      {"kind", s.spec.kind},
      {"schedule", s.spec.schedule},
      {"timezone", s.spec.timezone.empty() ? std::string("UTC") : s.spec.timezone},
      {"sink", s.spec.sink.topic},
      {"ticks", s.ticks},
      {"last_tick", json_time(s.last)},
      {"next_tick", json_time(s.stopping ? std::nullopt : s.next)},
      {"ready", s.ready},
  };
}

}  // namespace shfn::flow
