#pragma once
// POSIX TZ strings ("EST5EDT,M3.2.0,M11.1.0"), as found in a TZif footer: the rule for times
// after the file's last transition. Internal to the zone code.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace shfn::cron::detail {

// One local time type: a UTC offset (local minus UTC), whether it is daylight saving time, and
// its abbreviation.
struct local_type {
  std::chrono::seconds offset{0};
  bool dst = false;
  std::string abbrev;
};

// The day of a DST transition: Jn (1-365, February 29 never counted), n (0-365, counted), or
// Mm.w.d (weekday d of week w of month m; week 5 is the last).
struct rule_date {
  enum class kind { julian, zero_based, month_week_day };
  kind form = kind::month_week_day;
  int day = 0;
  int month = 0;
  int week = 0;
  int weekday = 0;
};

struct posix_tz {
  local_type standard;
  std::optional<local_type> daylight;  // none: the standard offset forever
  rule_date start;                     // DST starts, at start_time of standard local time
  rule_date end;                       // DST ends, at end_time of daylight local time
  std::chrono::seconds start_time{7200};
  std::chrono::seconds end_time{7200};
};

// nullopt when the string is not a valid TZ string (RFC 9636 section 3.3 with its extensions:
// hours up to 167 and negative transition times).
std::optional<posix_tz> parse_posix_tz(std::string_view text);

struct rule_period {
  std::chrono::sys_seconds begin;  // may be sys_seconds::min()
  std::chrono::sys_seconds end;    // may be sys_seconds::max()
  const local_type* type;
};

// The span around `t` with one local time type. Its ends are the rule's transitions, or for a
// zone in DST all year, artificial boundaries a year or two away with the same type on both sides.
rule_period posix_period(const posix_tz& tz, std::chrono::sys_seconds t);

}  // namespace shfn::cron::detail
