#include "cron/next_tick.h"

#include <algorithm>

namespace shfn::cron {

namespace chr = std::chrono;

namespace {

local_seconds local_at(sys_seconds t, const zone_period& p) {
  return local_seconds{t.time_since_epoch() + p.offset};
}

// The latest wall-clock time shown at or before `after`. After a backward jump the clock shows
// earlier times than it already did; a time already shown must not fire again. Offsets lie
// within (-25 h, 26 h) (the TZif decoder enforces it), so they differ by less than 51 hours and
// only the periods of the last three days can matter.
local_seconds highest_shown(const zone& z, sys_seconds after) {
  auto p = z.period_at(after);
  local_seconds high = local_at(after, p);
  while (p.begin != sys_seconds::min() && after - p.begin < chr::days{3}) {
    sys_seconds last = p.begin - chr::seconds{1};
    p = z.period_at(last);
    high = std::max(high, local_at(last, p));
  }
  return high;
}

std::optional<sys_seconds> next_fixed(const schedule& s, const zone& z, sys_seconds after) {
  auto label = next_match(s, highest_shown(z, after) + chr::seconds{1});
  if (!label) return std::nullopt;
  return z.from_local(*label).first_at_or_after;
}

std::optional<sys_seconds> next_wildcard(const schedule& s, const zone& z, sys_seconds after) {
  // Within one period local time is UTC plus a constant: the first matching minute there is the
  // answer, unless it falls after the period; then look in the next one.
  sys_seconds t = after + chr::seconds{1};
  while (true) {
    auto p = z.period_at(t);
    auto label = next_match(s, local_at(t, p));
    if (!label) return std::nullopt;
    sys_seconds candidate{label->time_since_epoch() - p.offset};
    if (candidate < p.end) return candidate;
    t = p.end;
  }
}

}  // namespace

std::optional<sys_seconds> next_tick(const schedule& s, const zone& z, sys_seconds after) {
  return s.fixed_time() ? next_fixed(s, z, after) : next_wildcard(s, z, after);
}

}  // namespace shfn::cron
