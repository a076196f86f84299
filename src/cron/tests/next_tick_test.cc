#include "cron/next_tick.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace shfn::cron {
namespace {

namespace chr = std::chrono;

sys_seconds utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return sys_seconds{from_civil(y, mo, d, h, mi, s).time_since_epoch()};
}

std::string iso(sys_seconds t) {
  auto c = to_civil(local_seconds{t.time_since_epoch()});
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
                c.minute, c.second);
  return buf;
}

schedule must_parse(std::string_view text) {
  auto s = parse_schedule(text);
  EXPECT_TRUE(s.has_value()) << text << ": " << (s ? "" : s.error().message);
  return s ? *s : schedule{};
}

zone must_load(std::string_view name) {
  auto z = zone::load(name);
  EXPECT_TRUE(z.has_value()) << name << ": " << (z ? "" : z.error().message);
  return z ? *z : zone();
}

// The ticks after `after`, as ISO strings (readable failures).
std::vector<std::string> ticks(std::string_view text, std::string_view zone_name, sys_seconds after,
                               int count) {
  auto s = must_parse(text);
  auto z = must_load(zone_name);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    auto t = next_tick(s, z, after);
    if (!t) break;
    out.push_back(iso(*t));
    after = *t;
  }
  return out;
}

using strings = std::vector<std::string>;

TEST(next_tick, utc_basics) {
  EXPECT_EQ(ticks("*/15 * * * *", "UTC", utc(2026, 1, 1, 10, 7, 30), 3),
            (strings{"2026-01-01T10:15:00Z", "2026-01-01T10:30:00Z", "2026-01-01T10:45:00Z"}));
  // Strictly after: a tick instant itself is not returned again.
  EXPECT_EQ(ticks("0 12 * * *", "UTC", utc(2026, 5, 5, 12), 1), strings{"2026-05-06T12:00:00Z"});
  EXPECT_EQ(ticks("0 12 * * *", "UTC", utc(2026, 5, 5, 11, 59, 59), 1),
            strings{"2026-05-05T12:00:00Z"});
  EXPECT_EQ(ticks("@yearly", "UTC", utc(2026, 6, 1), 2),
            (strings{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}));
  EXPECT_EQ(ticks("0 9 * * MON-FRI", "UTC", utc(2026, 1, 2, 9), 2),  // Friday
            (strings{"2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"}));
  EXPECT_EQ(ticks("0 0 13 * FRI", "UTC", utc(2026, 2, 1), 3),  // OR rule
            (strings{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z"}));
}

TEST(next_tick, zone_offsets_apply) {
  EXPECT_EQ(ticks("0 9 * * *", "Asia/Kolkata", utc(2026, 1, 1), 2),
            (strings{"2026-01-01T03:30:00Z", "2026-01-02T03:30:00Z"}));
  EXPECT_EQ(ticks("CRON_TZ=ignored 0 9 * * *", "America/New_York", utc(2026, 7, 1), 1),
            strings{"2026-07-01T13:00:00Z"});
}

TEST(next_tick, leap_days_are_found_quickly) {
  auto s = must_parse("0 0 29 2 *");
  auto z = must_load("America/New_York");
  std::vector<int> years;
  sys_seconds after = utc(2026, 1, 1);
  for (int i = 0; i < 21; ++i) {
    auto t = next_tick(s, z, after);
    ASSERT_TRUE(t.has_value());
    auto local = z.to_local(*t);
    EXPECT_EQ(local.fields.month, 2);
    EXPECT_EQ(local.fields.day, 29);
    EXPECT_EQ(local.fields.hour, 0);
    years.push_back(local.fields.year);
    after = *t;
  }
  EXPECT_EQ(years.front(), 2028);
  EXPECT_EQ(years[17], 2096);
  EXPECT_EQ(years[18], 2104);  // 2100 is not a leap year
  EXPECT_EQ(iso(*next_tick(s, z, utc(2026, 1, 1))), "2028-02-29T05:00:00Z");
  // A wildcard schedule on leap days only, in a zone with DST.
  EXPECT_EQ(ticks("* * 29 2 *", "Europe/Berlin", utc(2026, 1, 1), 2),
            (strings{"2028-02-28T23:00:00Z", "2028-02-28T23:01:00Z"}));
}

TEST(next_tick, nothing_before_the_year_10000) {
  auto s = must_parse("0 0 1 1 *");
  EXPECT_EQ(next_tick(s, zone(), utc(9999, 6, 1)), std::nullopt);
}

// --- New York, 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00Z. ---

TEST(dst_new_york, spring_forward_fixed_time_fires_when_the_gap_ends) {
  EXPECT_EQ(ticks("30 2 * * *", "America/New_York", utc(2026, 3, 6, 12), 3),
            (strings{"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}));
  EXPECT_EQ(ticks("0 2 * * *", "America/New_York", utc(2026, 3, 7, 12), 2),
            (strings{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"}));
  // Two skipped times share one tick; the times around the gap are untouched.
  EXPECT_EQ(ticks("0,30 1-3 * * *", "America/New_York", utc(2026, 3, 8, 5, 59), 5),
            (strings{"2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z",
                     "2026-03-08T07:30:00Z", "2026-03-09T05:00:00Z"}));
}

TEST(dst_new_york, spring_forward_wildcard_follows_real_time) {
  EXPECT_EQ(ticks("0 * * * *", "America/New_York", utc(2026, 3, 8, 5, 30), 3),
            (strings{"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}));
  EXPECT_EQ(ticks("* * * * *", "America/New_York", utc(2026, 3, 8, 6, 58, 30), 3),
            (strings{"2026-03-08T06:59:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:01:00Z"}));
  // Every minute of the 02:00 hour: that hour does not exist on 8 March.
  auto t = ticks("* 2 * * *", "America/New_York", utc(2026, 3, 7, 7, 57, 30), 3);
  EXPECT_EQ(t, (strings{"2026-03-07T07:58:00Z", "2026-03-07T07:59:00Z", "2026-03-09T06:00:00Z"}));
}

// --- New York, 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00Z. ---

TEST(dst_new_york, fall_back_fixed_time_fires_once) {
  EXPECT_EQ(ticks("30 1 * * *", "America/New_York", utc(2026, 10, 31, 12), 2),
            (strings{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}));
  // From inside the repeated hour (01:10 EST): 01:30 already fired at 05:30Z.
  EXPECT_EQ(ticks("30 1 * * *", "America/New_York", utc(2026, 11, 1, 6, 10), 1),
            strings{"2026-11-02T06:30:00Z"});
  // From between the two passes of 01:30 (01:45 EDT).
  EXPECT_EQ(ticks("30 1 * * *", "America/New_York", utc(2026, 11, 1, 5, 45), 1),
            strings{"2026-11-02T06:30:00Z"});
  EXPECT_EQ(ticks("@daily", "America/New_York", utc(2026, 10, 31, 12), 2),
            (strings{"2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"}));
  EXPECT_EQ(ticks("0 2 * * *", "America/New_York", utc(2026, 10, 31, 12), 2),
            (strings{"2026-11-01T07:00:00Z", "2026-11-02T07:00:00Z"}));
}

TEST(dst_new_york, fall_back_wildcard_fires_in_both_passes) {
  EXPECT_EQ(ticks("0 * * * *", "America/New_York", utc(2026, 11, 1, 3, 30), 4),
            (strings{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z",
                     "2026-11-01T07:00:00Z"}));
  EXPECT_EQ(ticks("*/30 1 * * *", "America/New_York", utc(2026, 11, 1, 4, 59), 5),
            (strings{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z",
                     "2026-11-01T06:30:00Z", "2026-11-02T06:00:00Z"}));
}

// --- Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00Z. ---

TEST(dst_berlin, spring_forward) {
  EXPECT_EQ(ticks("30 2 * * *", "Europe/Berlin", utc(2026, 3, 27, 12), 3),
            (strings{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}));
  EXPECT_EQ(ticks("0 * * * *", "Europe/Berlin", utc(2026, 3, 28, 23, 30), 3),
            (strings{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}));
  EXPECT_EQ(ticks("0 3 * * *", "Europe/Berlin", utc(2026, 3, 28, 12), 2),
            (strings{"2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"}));
}

// --- Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00Z. ---

TEST(dst_berlin, fall_back) {
  EXPECT_EQ(ticks("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12), 2),
            (strings{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
  EXPECT_EQ(ticks("0 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12), 2),
            (strings{"2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z"}));
  EXPECT_EQ(ticks("0 * * * *", "Europe/Berlin", utc(2026, 10, 24, 23, 30), 3),
            (strings{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}));
  // The hour field starts with `*`: periodic, so 02:00 fires in both passes.
  EXPECT_EQ(ticks("0 */2 * * *", "Europe/Berlin", utc(2026, 10, 24, 21, 30), 4),
            (strings{"2026-10-24T22:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z",
                     "2026-10-25T03:00:00Z"}));
}

TEST(dst_lord_howe, half_hour_gap_collapses_into_one_tick) {
  // 2026-10-04 02:00 +10:30 becomes 02:30 +11 at 15:30Z on the 3rd.
  EXPECT_EQ(ticks("0,15,30 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 3, 12), 2),
            (strings{"2026-10-03T15:30:00Z", "2026-10-04T15:00:00Z"}));
  // 2026-04-05 02:00 +11 becomes 01:30 +10:30 at 15:00Z on the 4th.
  EXPECT_EQ(ticks("45 1 * * *", "Australia/Lord_Howe", utc(2026, 4, 4, 12), 2),
            (strings{"2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}));
}

// --- A year of ticks, minute by minute, against a brute-force reference. ---

struct sim_schedule {
  const char* text;
  bool fixed;  // the DST rule the schedule falls under, by hand
  bool (*matches)(const civil_time&);
};

const sim_schedule sim_schedules[] = {
    {"* * * * *", false, [](const civil_time&) { return true; }},
    {"*/7 * * * *", false, [](const civil_time& c) { return c.minute % 7 == 0; }},
    {"30 2 * * *", true, [](const civil_time& c) { return c.minute == 30 && c.hour == 2; }},
    {"0 * * * *", false, [](const civil_time& c) { return c.minute == 0; }},
    {"0 9 * * MON-FRI", true,
     [](const civil_time& c) {
       return c.minute == 0 && c.hour == 9 && c.weekday >= 1 && c.weekday <= 5;
     }},
    {"@daily", true, [](const civil_time& c) { return c.minute == 0 && c.hour == 0; }},
};
constexpr std::size_t sim_count = std::size(sim_schedules);

struct sim_case {
  const char* zone;
  int year;
};

void PrintTo(const sim_case& c, std::ostream* os) {
  *os << c.zone << " " << c.year;
}

class year_simulation : public ::testing::TestWithParam<sim_case> {};

// The reference, from to_local alone, minute by minute over real time:
//  - wildcard: a tick at every minute whose wall-clock reading matches;
//  - fixed-time: a tick at every minute whose reading is later than any earlier reading and
//    where a matching wall-clock minute was reached or jumped over (since the previous reading).
std::vector<std::vector<sys_seconds>> brute_force(const zone& z, sys_seconds begin,
                                                  sys_seconds end) {
  std::vector<std::vector<sys_seconds>> out(sim_count);
  sys_seconds t = begin - chr::days{2};
  local_seconds highest = z.to_local(t - chr::minutes{1}).local;
  for (; t < end; t += chr::minutes{1}) {
    auto l = z.to_local(t);
    bool advanced = l.local > highest;
    for (std::size_t i = 0; i < sim_count; ++i) {
      const auto& s = sim_schedules[i];
      bool tick = false;
      if (!s.fixed) {
        tick = s.matches(l.fields);
      } else if (advanced) {
        tick = s.matches(l.fields);
        for (auto skipped = highest + chr::minutes{1}; !tick && skipped < l.local;
             skipped += chr::minutes{1}) {
          tick = s.matches(to_civil(skipped));
        }
      }
      if (tick && t >= begin) out[i].push_back(t);
    }
    if (advanced) highest = l.local;
  }
  return out;
}

TEST_P(year_simulation, ticks_are_exactly_the_brute_force_ones) {
  auto z = must_load(GetParam().zone);
  int year = GetParam().year;
  sys_seconds begin = utc(year, 1, 1), end = utc(year + 1, 1, 1);
  auto expected = brute_force(z, begin, end);
  std::vector<sys_seconds> transitions;
  for (auto p = z.period_at(begin); p.end < end; p = z.period_at(p.end)) {
    if (z.period_at(p.end).offset != p.offset) transitions.push_back(p.end);
  }
  if (std::string_view(GetParam().zone) != "UTC" &&
      std::string_view(GetParam().zone) != "Asia/Kolkata") {
    ASSERT_FALSE(transitions.empty());
  }
  std::mt19937_64 rng(year);
  for (std::size_t i = 0; i < sim_count; ++i) {
    const auto& c = sim_schedules[i];
    auto s = must_parse(c.text);
    ASSERT_EQ(s.fixed_time(), c.fixed) << c.text;
    std::vector<sys_seconds> got;
    for (auto t = next_tick(s, z, begin - chr::seconds{1}); t && *t < end;
         t = next_tick(s, z, *t)) {
      if (!got.empty()) {
        ASSERT_LT(got.back(), *t) << c.text << ": ticks must increase";
      }
      got.push_back(*t);
    }
    const auto& want = expected[i];
    ASSERT_FALSE(want.empty()) << c.text;
    if (got != want) {
      std::size_t k = 0;
      while (k < got.size() && k < want.size() && got[k] == want[k]) ++k;
      FAIL() << GetParam().zone << " " << c.text << ": " << got.size() << " ticks, expected "
             << want.size() << "; first difference at #" << k << ": got "
             << (k < got.size() ? iso(got[k]) : "none") << ", expected "
             << (k < want.size() ? iso(want[k]) : "none");
    }
    // From arbitrary instants too (not only from ticks): the next tick is the next one the
    // reference has. Every half minute around each transition, and random ones.
    auto check_from = [&](sys_seconds a) {
      auto next = std::upper_bound(want.begin(), want.end(), a);
      if (next == want.end()) return;
      ASSERT_EQ(next_tick(s, z, a), std::optional(*next)) << c.text << " after " << iso(a);
    };
    for (auto t : transitions) {
      for (auto a = t - chr::hours{3}; a < t + chr::hours{3}; a += chr::seconds{30}) check_from(a);
    }
    std::uniform_int_distribution<std::int64_t> pick(begin.time_since_epoch().count(),
                                                     end.time_since_epoch().count() - 1);
    for (int n = 0; n < 500; ++n) check_from(sys_seconds{chr::seconds{pick(rng)}});
  }
}

INSTANTIATE_TEST_SUITE_P(
    zones, year_simulation,
    ::testing::Values(sim_case{"America/New_York", 2026}, sim_case{"Europe/Berlin", 2026},
                      sim_case{"Australia/Lord_Howe", 2026}, sim_case{"Asia/Kolkata", 2026},
                      sim_case{"UTC", 2026},
                      // Odd transitions: a whole day skipped (Samoa, 2011-12-30), midnight
                      // transitions (Santiago, Havana), a two-hour shift (Troll), +12:45.
                      sim_case{"Pacific/Apia", 2011}, sim_case{"America/Santiago", 2026},
                      sim_case{"America/Havana", 2026}, sim_case{"Antarctica/Troll", 2026},
                      sim_case{"Pacific/Chatham", 2026}),
    [](const auto& info) {
      std::string name = std::string(info.param.zone) + "_" + std::to_string(info.param.year);
      std::replace_if(
          name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
      return name;
    });

}  // namespace
}  // namespace shfn::cron
