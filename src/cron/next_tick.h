#pragma once
// When a schedule fires next, in a zone, daylight saving time included. Pure: the caller owns
// the clock, so tests drive it with any instants they like.

#include <chrono>
#include <optional>

#include "cron/schedule.h"
#include "cron/zone.h"

namespace shfn::cron {

// The first tick strictly after `after`. Ticks are strictly increasing; iterating from any
// instant visits every occurrence exactly once (README.md, "Daylight saving time"):
//  - fixed-time schedules (`30 2 * * *`): each matching wall-clock minute fires once, at the
//    first instant the wall clock shows it or a later time (a skipped time fires when the gap
//    ends; a repeated one fires on its first pass only);
//  - wildcard schedules (`*/5 * * * *`, `0 * * * *`): every instant at which the wall clock
//    shows a matching minute (nothing in a gap; a repeated hour fires again).
// nullopt only when nothing fires before the year 10000 (parse_schedule refuses schedules that
// never fire).
std::optional<sys_seconds> next_tick(const schedule& s, const zone& z, sys_seconds after);

}  // namespace shfn::cron
