#pragma once
// A cron source (CronSource, PingSource, CronJobSource; docs/flows.md, "Cron sources"): at every
// tick of its schedule, in its time zone, one CloudEvent on its sink topic.
//
// CONTRACT (the lead engineer wrote this header; the implementer may refine comments and add
// private members, but keeps the public API):
//   - the next tick is cron::next_tick(schedule, zone, last tick), never "after now", so a slow
//     loop cannot skip or repeat a tick; the first tick is the first after the time at start;
//   - each event: id a fresh event::uuid_v4(), type/source/datacontenttype/data/extensions
//     from the spec, time = the tick (RFC 3339, UTC, "Z"), binary mode on Pulsar;
//   - one producer named after the source (so a second replica cannot publish at the same time),
//     sequence id = the tick's Unix seconds: a tick published again after a restart is dropped
//     by broker deduplication;
//   - every tick carries the source's name as its key, so that on a partitioned sink all
//     ticks go to one partition and its deduplication sees every sequence id;
//   - the broker unreachable: keep trying with back-off (log lines), ticks wait (not dropped);
//     a tick whose receipt is lost is sent again with the same sequence id;
//   - source_clock: the real clock, or (tests) a virtual one: SHFN_CLOCK="<RFC 3339
//   start>[*<speed>]"
//     starts at that instant and runs `speed` times faster than the steady clock.
//
// Threads: everything on the runtime's executor.

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/notifier.h"
#include "base/result.h"
#include "client/client.h"
#include "config/flow.h"
#include "flow/source.h"

namespace shfn::flow {

using sys_time = std::chrono::sys_time<std::chrono::milliseconds>;

class source_clock {
 public:
  source_clock() = default;  // the system clock
  // A virtual clock: `start` at the moment of the call, running `speed` times faster.
  static source_clock virtual_clock(sys_time start, double speed);
  // SHFN_CLOCK's value; an error message for a value that does not parse.
  static result<source_clock> parse(std::string_view value);

  sys_time now() const;
  // The steady-clock instant at which now() reaches `t`.
  clock::time_point steady_at(sys_time t) const;
  bool is_virtual() const { return speed_ != 0; }

 private:
  sys_time start_{};
  clock::time_point started_{};
  double speed_ = 0;  // 0: the system clock
};

struct cron_source_options {
  source_clock clock;
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{30000};
};

class cron_source final : public source {
 public:
  // `spec.sink` is a topic (flow/plan.h has turned any other sink into one).
  cron_source(client::client& c, config::cron_source_spec spec, cron_source_options options);
  ~cron_source() override;

  // Loads the zone and parses the schedule (valid: the config checked them), creates the
  // producer, retrying while the broker cannot be reached. Fails only for what retrying cannot
  // fix (and with operation_canceled when stop() comes first). The first tick is the first
  // after the time start() is called: ticks that fall due while the broker is unreachable, or
  // before run() is called, are published (in order) once run() runs.
  asio::awaitable<result<void>> start() override;
  // Emits ticks until stop(), then closes the producer. A tick already sent when stop() comes
  // gets a short grace for its receipt.
  asio::awaitable<void> run() override;
  void stop() override;

  bool ready() const override;
  source_counts counts() const override;  // ticks received and written
  const config::cron_source_spec& spec() const;
  // {"source": name, "kind": ..., "schedule": ..., "timezone": ..., "sink": topic,
  //  "ticks": N, "last_tick": RFC 3339 or null, "next_tick": RFC 3339 or null, "ready": bool}
  nlohmann::json status() const override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace shfn::flow
