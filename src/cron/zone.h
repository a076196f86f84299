#pragma once
// IANA time zones read from the system's tzdata (TZif files, RFC 8536 / 9636), without the C
// library's TZ machinery: no TZ environment variable, no localtime_r, so threads may each use
// any zone. A `zone` is an immutable handle: copies share the loaded data, and any thread may use
// it at any time.

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "cron/schedule.h"

namespace shfn::cron {

using std::chrono::local_seconds;
using std::chrono::sys_seconds;

enum class zone_errc {
  invalid_name = 1,  // not a zone name at all ("../etc/passwd", "", "a//b")
  unknown_zone,      // no such zone in the tzdata
  unreadable,        // the file exists but cannot be read
  bad_data,          // not TZif, truncated, inconsistent, or a leap-second ("right/") zone
};

struct zone_error {
  zone_errc code;
  std::string message;  // unknown time zone "Europe/Pariss" (did you mean "Europe/Paris"?)
};

template <class T>
using zone_result = tl::expected<T, zone_error>;

struct zone_load_options {
  std::string root = "/usr/share/zoneinfo";  // tests point it at their own files
};

// A span of time with one UTC offset. Unbounded ends are sys_seconds::min() / max().
struct zone_period {
  sys_seconds begin;
  sys_seconds end;
  std::chrono::seconds offset;  // local time minus UTC
  bool dst = false;
  std::string_view abbrev;  // "EST"; valid while any copy of the zone lives
};

struct local_info {
  local_seconds local;
  civil_time fields;
  std::chrono::seconds offset;
  bool dst = false;
  std::string_view abbrev;
};

// The instants at which the wall clock shows a given local time.
struct local_lookup {
  int count = 0;  // 0: skipped by a forward jump (a gap); 1: normal; 2: repeated (an overlap)
  std::array<sys_seconds, 2> instants{};  // the first `count`, earliest first
  // The first instant at which the wall clock shows this local time or a later one. With count
  // >= 1 it is instants[0]; in a gap it is the end of the gap.
  sys_seconds first_at_or_after{};
};

namespace detail {
struct zone_data;
}

class zone {
 public:
  // UTC.
  zone();

  // Loads NAME from the zoneinfo root. "UTC" and "Etc/UTC" need no tzdata. Names are IANA
  // names (letters, digits, '_', '-', '+', '/'): "..", absolute paths and anything resolving
  // outside the root (e.g. the "localtime" link) are refused.
  static zone_result<zone> load(std::string_view name, const zone_load_options& options = {});

  // Parses TZif bytes (version 1 to 4) under the given name.
  static zone_result<zone> from_tzif(std::string_view name, std::string_view bytes);

  static zone utc() { return zone(); }

  const std::string& name() const;
  zone_period period_at(sys_seconds t) const;
  local_info to_local(sys_seconds t) const;
  local_lookup from_local(local_seconds t) const;

 private:
  explicit zone(std::shared_ptr<const detail::zone_data> data) : data_(std::move(data)) {}
  std::shared_ptr<const detail::zone_data> data_;
};

}  // namespace shfn::cron
