#pragma once
// Cron schedules: the 5-field syntax (Vixie cron, as Knative's PingSource accepts it) parsed into
// bit sets, and the search for the next matching wall-clock minute. Pure: no clock, no zone, no
// I/O. A `schedule` is an immutable value; share it freely between threads.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace shfn::cron {

// A wall-clock date and time broken into fields. month 1-12, day 1-31, weekday 0-6 (Sunday 0).
struct civil_time {
  int year = 1970;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int weekday = 4;
};

civil_time to_civil(std::chrono::local_seconds t);
std::chrono::local_seconds from_civil(int year, int month, int day, int hour = 0, int minute = 0,
                                      int second = 0);

struct schedule {
  // Bit i set = value i matches. minutes 0-59, hours 0-23, days 1-31, months 1-12,
  // weekdays 0-6 (Sunday 0; a 7 in the text is stored as 0).
  std::uint64_t minutes = 0;
  std::uint32_t hours = 0;
  std::uint32_t days = 0;
  std::uint16_t months = 0;
  std::uint8_t weekdays = 0;

  // Whether the field's text starts with `*` (or `?`), as Vixie cron records it. The day flags
  // pick the day rule; the minute and hour flags pick the daylight-saving rule (README.md).
  bool minute_star = false;
  bool hour_star = false;
  bool day_star = false;
  bool weekday_star = false;

  // The zone named by a `CRON_TZ=Zone ` or `TZ=Zone ` prefix; empty without one. Not validated
  // here: zone::load does that.
  std::string zone_name;

  // Vixie's day rule: when both day fields are restricted, a day matches if either matches;
  // otherwise both must.
  bool day_matches(int day, int weekday) const;
  bool matches(const civil_time& t) const;

  // A fixed-time schedule (neither the minute nor the hour field starts with `*`) names
  // wall-clock times: each fires once even when daylight saving time skips or repeats it. The
  // others ("wildcard" schedules, such as `*/5 * * * *` or `0 * * * *`) are periodic and fire at
  // every instant the wall clock shows a matching minute.
  bool fixed_time() const { return !minute_star && !hour_star; }
};

struct parse_error {
  std::string message;     // "minute: 61 is out of range 0-59"
  std::size_t column = 0;  // 0-based offset in the text of the offending part
};

// Parses a 5-field cron expression or a macro (@yearly @annually @monthly @weekly @daily
// @midnight @hourly), with an optional CRON_TZ=/TZ= prefix. Refuses schedules that can never
// fire (`0 0 30 2 *`), so every parsed schedule has a next tick.
tl::expected<schedule, parse_error> parse_schedule(std::string_view text);

// The first wall-clock minute at or after `from` (rounded up to a whole minute) that `s` matches,
// found by walking the calendar fields (a leap day is found in a few steps). nullopt past the
// year 9999.
std::optional<std::chrono::local_seconds> next_match(const schedule& s,
                                                     std::chrono::local_seconds from);

}  // namespace shfn::cron
