#include "cron/schedule.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shfn::cron {
namespace {

namespace chr = std::chrono;

schedule parsed(std::string_view text) {
  auto s = parse_schedule(text);
  EXPECT_TRUE(s.has_value()) << text << ": " << (s ? "" : s.error().message);
  return s ? *s : schedule{};
}

std::vector<int> bits_of(std::uint64_t bits, int max) {
  std::vector<int> out;
  for (int i = 0; i <= max; ++i) {
    if ((bits >> i) & 1u) out.push_back(i);
  }
  return out;
}

using v = std::vector<int>;

std::uint64_t all(int lo, int hi) {
  std::uint64_t b = 0;
  for (int i = lo; i <= hi; ++i) b |= std::uint64_t{1} << i;
  return b;
}

TEST(parse_schedule, stars_match_everything) {
  auto s = parsed("* * * * *");
  EXPECT_EQ(s.minutes, all(0, 59));
  EXPECT_EQ(s.hours, all(0, 23));
  EXPECT_EQ(s.days, all(1, 31));
  EXPECT_EQ(s.months, all(1, 12));
  EXPECT_EQ(s.weekdays, all(0, 6));
  EXPECT_TRUE(s.minute_star && s.hour_star && s.day_star && s.weekday_star);
  EXPECT_FALSE(s.fixed_time());
  EXPECT_TRUE(s.zone_name.empty());
}

TEST(parse_schedule, values_ranges_lists_and_steps) {
  auto s = parsed("5 1-3 1,15,31 */4 1-5/2");
  EXPECT_EQ(bits_of(s.minutes, 59), v{5});
  EXPECT_EQ(bits_of(s.hours, 23), (v{1, 2, 3}));
  EXPECT_EQ(bits_of(s.days, 31), (v{1, 15, 31}));
  EXPECT_EQ(bits_of(s.months, 12), (v{1, 5, 9}));
  EXPECT_EQ(bits_of(s.weekdays, 6), (v{1, 3, 5}));
  EXPECT_TRUE(s.fixed_time());
  EXPECT_FALSE(s.day_star);
  EXPECT_FALSE(s.weekday_star);
}

TEST(parse_schedule, value_with_step_runs_to_the_field_maximum) {
  // a/n = a-max/n, as Vixie cron and robfig/cron read it
  EXPECT_EQ(bits_of(parsed("50/3 * * * *").minutes, 59), (v{50, 53, 56, 59}));
  EXPECT_EQ(bits_of(parsed("0 20/2 * * *").hours, 23), (v{20, 22}));
  EXPECT_EQ(bits_of(parsed("*/20 * * * *").minutes, 59), (v{0, 20, 40}));
  EXPECT_EQ(bits_of(parsed("0 * */10 * *").days, 31), (v{1, 11, 21, 31}));
  EXPECT_EQ(bits_of(parsed("10-20/5,59 * * * *").minutes, 59), (v{10, 15, 20, 59}));
  EXPECT_EQ(bits_of(parsed("5-5/2 * * * *").minutes, 59), v{5});
  // a step larger than the range keeps its first value
  EXPECT_EQ(bits_of(parsed("*/60 * * * *").minutes, 59), v{0});
}

TEST(parse_schedule, month_and_weekday_names_ignore_case) {
  auto s = parsed("0 0 * jan,Mar-MAY,dec mon-FRI");
  EXPECT_EQ(bits_of(s.months, 12), (v{1, 3, 4, 5, 12}));
  EXPECT_EQ(bits_of(s.weekdays, 6), (v{1, 2, 3, 4, 5}));
  EXPECT_EQ(bits_of(parsed("0 0 * * sun,Sat").weekdays, 6), (v{0, 6}));
  EXPECT_EQ(bits_of(parsed("0 0 * FEB-4 *").months, 12), (v{2, 3, 4}));
}

TEST(parse_schedule, weekday_seven_is_sunday) {
  EXPECT_EQ(bits_of(parsed("0 0 * * 7").weekdays, 6), v{0});
  EXPECT_EQ(bits_of(parsed("0 0 * * 5-7").weekdays, 6), (v{0, 5, 6}));
  EXPECT_EQ(bits_of(parsed("0 0 * * 0-7").weekdays, 6), (v{0, 1, 2, 3, 4, 5, 6}));
}

TEST(parse_schedule, question_mark_is_a_star_in_day_fields) {
  auto s = parsed("0 12 ? * MON");
  EXPECT_EQ(s.days, all(1, 31));
  EXPECT_TRUE(s.day_star);
  auto t = parsed("0 12 1 * ?");
  EXPECT_EQ(t.weekdays, all(0, 6));
  EXPECT_TRUE(t.weekday_star);
}

TEST(parse_schedule, star_flags_follow_the_first_character) {
  auto s = parsed("*/15 */2 */3 * */2");
  EXPECT_TRUE(s.minute_star);
  EXPECT_TRUE(s.hour_star);
  EXPECT_TRUE(s.day_star);
  EXPECT_TRUE(s.weekday_star);
  auto t = parsed("0-59 0-23 1-31 * 0-6");
  EXPECT_FALSE(t.minute_star || t.hour_star || t.day_star || t.weekday_star);
  EXPECT_TRUE(t.fixed_time());
  EXPECT_FALSE(parsed("0 * * * *").fixed_time());
  EXPECT_FALSE(parsed("* 3 * * *").fixed_time());
}

TEST(parse_schedule, macros_expand_to_their_fields) {
  struct {
    const char* macro;
    const char* fields;
  } cases[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
               {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
               {"@hourly", "0 * * * *"}, {"@DAILY", "0 0 * * *"}};
  for (const auto& c : cases) {
    auto a = parsed(c.macro);
    auto b = parsed(c.fields);
    EXPECT_EQ(a.minutes, b.minutes) << c.macro;
    EXPECT_EQ(a.hours, b.hours) << c.macro;
    EXPECT_EQ(a.days, b.days) << c.macro;
    EXPECT_EQ(a.months, b.months) << c.macro;
    EXPECT_EQ(a.weekdays, b.weekdays) << c.macro;
    EXPECT_EQ(a.fixed_time(), b.fixed_time()) << c.macro;
    EXPECT_EQ(a.day_star, b.day_star) << c.macro;
    EXPECT_EQ(a.weekday_star, b.weekday_star) << c.macro;
  }
}

TEST(parse_schedule, zone_prefix_is_returned_separately) {
  auto s = parsed("CRON_TZ=Europe/Berlin 30 2 * * *");
  EXPECT_EQ(s.zone_name, "Europe/Berlin");
  EXPECT_EQ(bits_of(s.minutes, 59), v{30});
  EXPECT_EQ(parsed("TZ=Asia/Tokyo @daily").zone_name, "Asia/Tokyo");
  EXPECT_EQ(parsed("  CRON_TZ=UTC \t * * * * *  ").zone_name, "UTC");
}

TEST(parse_schedule, whitespace_between_fields_is_flexible) {
  auto s = parsed("  0\t9  *   * \tMON  ");
  EXPECT_EQ(bits_of(s.hours, 23), v{9});
  EXPECT_EQ(bits_of(s.weekdays, 6), v{1});
}

TEST(schedule, day_rule_is_or_when_both_day_fields_are_restricted) {
  auto both = parsed("0 0 13 * FRI");  // the 13th, and every Friday
  EXPECT_TRUE(both.day_matches(13, 2));
  EXPECT_TRUE(both.day_matches(6, 5));
  EXPECT_FALSE(both.day_matches(6, 4));
  auto dom_only = parsed("0 0 13 * *");
  EXPECT_TRUE(dom_only.day_matches(13, 2));
  EXPECT_FALSE(dom_only.day_matches(6, 5));
  // A starred field with a step still counts as starred (Vixie): both must match.
  auto stepped = parsed("0 0 13 * */2");
  EXPECT_TRUE(stepped.day_matches(13, 2));
  EXPECT_FALSE(stepped.day_matches(13, 1));
  EXPECT_FALSE(stepped.day_matches(6, 2));
}

struct bad_case {
  const char* text;
  const char* message;
  std::size_t column;
};

TEST(parse_schedule, errors_say_what_and_where) {
  const bad_case cases[] = {
      {"", "empty schedule: expected 5 fields or a macro", 0},
      {"   ", "empty schedule: expected 5 fields or a macro", 3},
      {"* * * *", "expected 5 fields, got 4 (minute hour day-of-month month day-of-week)", 7},
      {"0 * * * * *", "expected 5 fields, got 6 (a seconds field is not supported)", 10},
      {"0 0 * * * * 2026", "expected 5 fields, got 7", 10},
      {"61 * * * *", "minute: 61 is out of range 0-59", 0},
      {"* 24 * * *", "hour: 24 is out of range 0-23", 2},
      {"* * 0 * *", "day-of-month: 0 is out of range 1-31", 4},
      {"* * 32 * *", "day-of-month: 32 is out of range 1-31", 4},
      {"* * * 13 *", "month: 13 is out of range 1-12", 6},
      {"* * * 0 *", "month: 0 is out of range 1-12", 6},
      {"* * * * 8", "day-of-week: 8 is out of range 0-7", 8},
      {"1,2,99999999999 * * * *", "minute: 99999999999 is out of range 0-59", 4},
      {"* * * * FOO", "day-of-week: unknown name \"FOO\"", 8},
      {"* * * * MONDAY", "day-of-week: unknown name \"MONDAY\"", 8},
      {"* * * JANUARY *", "month: unknown name \"JANUARY\"", 6},
      {"* * * * MON-FOO", "day-of-week: unknown name \"FOO\"", 12},
      {"abc * * * *", "minute: expected a number, got \"abc\"", 0},
      {"* MON * * *", "hour: expected a number, got \"MON\"", 2},
      {"*/0 * * * *", "minute: step must be at least 1", 2},
      {"0 1-5/0 * * *", "hour: step must be at least 1", 6},
      {"*/ * * * *", "minute: expected a number after \"/\"", 2},
      {"*/x * * * *", "minute: expected a number after \"/\"", 2},
      {"*/5000 * * * *", "minute: step 5000 is too large", 2},
      {"5-1 * * * *", "minute: range \"5-1\" goes backwards (5 > 1)", 0},
      {"0 0 * * FRI-MON", "day-of-week: range \"FRI-MON\" goes backwards (5 > 1)", 8},
      {"1,,2 * * * *", "minute: empty list item", 2},
      {"1, * * * *", "minute: empty list item", 2},
      {",1 * * * *", "minute: empty list item", 0},
      {"5- * * * *", "minute: missing a number after \"-\"", 2},
      {"-5 * * * *", "minute: expected a number, got \"-5\"", 0},
      {"1x * * * *", "minute: unexpected \"x\"", 1},
      {"*5 * * * *", "minute: unexpected \"5\"", 1},
      {"*-5 * * * *", "minute: unexpected \"-5\"", 1},
      {"1-2-3 * * * *", "minute: unexpected \"-3\"", 3},
      {"1/2/3 * * * *", "minute: unexpected \"/3\"", 3},
      {"? * * * *", "minute: \"?\" is only allowed in day-of-month and day-of-week", 0},
      {"0 0 ?/2 * *", "day-of-month: unexpected \"/2\"", 5},
      {"0 0 30 2 *", "day-of-month: 30 never occurs in February, so the schedule never fires", 4},
      {"0 0 31 4,6,9,11 *",
       "day-of-month: 31 never occurs in April, June, September or November, so the schedule "
       "never fires",
       4},
      {"0 0 30-31 FEB ?",
       "day-of-month: 30-31 never occurs in February, so the schedule never fires", 4},
      {"@every 5m", "@every is not supported: write a 5-field schedule such as \"*/5 * * * *\"", 0},
      {"@reboot", "@reboot is not supported", 0},
      {"@weekdays",
       "unknown macro \"@weekdays\" (expected @yearly, @annually, @monthly, @weekly, @daily, "
       "@midnight or @hourly)",
       0},
      {"@daily 0", "unexpected \"0\" after \"@daily\" (a macro stands alone)", 7},
      {"CRON_TZ= * * * * *", "CRON_TZ= needs a time zone name", 8},
      {"TZ=Europe/Paris", "expected a schedule after TZ=Europe/Paris", 15},
      {"CRON_TZ=UTC 61 * * * *", "minute: 61 is out of range 0-59", 12},
  };
  for (const auto& c : cases) {
    auto s = parse_schedule(c.text);
    ASSERT_FALSE(s.has_value()) << c.text;
    EXPECT_EQ(s.error().message, c.message) << c.text;
    EXPECT_EQ(s.error().column, c.column) << c.text;
  }
}

TEST(parse_schedule, rare_but_possible_days_are_accepted) {
  // February 29 exists in leap years; the 31st with both day fields restricted fires on the
  // weekday too (OR rule).
  EXPECT_TRUE(parse_schedule("0 0 29 2 *").has_value());
  EXPECT_TRUE(parse_schedule("0 0 30 2 MON").has_value());
  EXPECT_TRUE(parse_schedule("0 0 31 2,3 *").has_value());
}

chr::local_seconds at(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return from_civil(y, mo, d, h, mi, s);
}

TEST(civil, conversions_round_trip_and_know_weekdays) {
  auto t = at(2026, 3, 8, 2, 30, 15);
  auto c = to_civil(t);
  EXPECT_EQ(c.year, 2026);
  EXPECT_EQ(c.month, 3);
  EXPECT_EQ(c.day, 8);
  EXPECT_EQ(c.hour, 2);
  EXPECT_EQ(c.minute, 30);
  EXPECT_EQ(c.second, 15);
  EXPECT_EQ(c.weekday, 0);  // a Sunday
  EXPECT_EQ(to_civil(at(1969, 12, 31, 23, 59, 59)).weekday, 3);
  EXPECT_EQ(to_civil(at(1969, 12, 31, 23, 59, 59)).hour, 23);
  EXPECT_EQ(at(2026, 1, 32), at(2026, 2, 1));
}

TEST(next_match, walks_calendar_fields) {
  auto s = parsed("30 2 * * *");
  EXPECT_EQ(next_match(s, at(2026, 1, 1)), at(2026, 1, 1, 2, 30));
  EXPECT_EQ(next_match(s, at(2026, 1, 1, 2, 30)), at(2026, 1, 1, 2, 30));  // at or after
  EXPECT_EQ(next_match(s, at(2026, 1, 1, 2, 30, 1)), at(2026, 1, 2, 2, 30));
  EXPECT_EQ(next_match(s, at(2026, 12, 31, 3)), at(2027, 1, 1, 2, 30));
  auto weekdays = parsed("0 9 * * MON-FRI");
  EXPECT_EQ(next_match(weekdays, at(2026, 1, 2, 9, 0, 1)), at(2026, 1, 5, 9));  // Fri -> Mon
  auto month_end = parsed("59 23 31 * *");
  EXPECT_EQ(next_match(month_end, at(2026, 4, 1)), at(2026, 5, 31, 23, 59));
}

TEST(next_match, finds_leap_days_far_apart) {
  auto s = parsed("0 0 29 2 *");
  EXPECT_EQ(next_match(s, at(2024, 2, 29, 0, 0, 1)), at(2028, 2, 29));
  // 2100 is not a leap year: eight years from 2096 to 2104.
  EXPECT_EQ(next_match(s, at(2096, 3, 1)), at(2104, 2, 29));
  EXPECT_EQ(next_match(s, at(9999, 1, 1)), std::nullopt);
}

TEST(next_match, or_rule_fires_on_either_day) {
  auto s = parsed("0 0 13 * FRI");
  // 2026-02-06 is a Friday, 2026-02-13 a Friday the 13th, 2026-03-13 too.
  EXPECT_EQ(next_match(s, at(2026, 2, 1)), at(2026, 2, 6));
  EXPECT_EQ(next_match(s, at(2026, 2, 7)), at(2026, 2, 13));
  EXPECT_EQ(next_match(s, at(2026, 2, 14)), at(2026, 2, 20));
}

TEST(next_match, agrees_with_a_minute_by_minute_scan) {
  // Five weeks of minutes for a few awkward schedules: from just after each match (and from
  // half a minute before it), the next match is the next minute that matches().
  for (const char* text : {"*/7 3-5 * * *", "0,30 * 1-3 * SUN", "15 10 */5 * *", "0 0 * * 1"}) {
    auto s = parsed(text);
    std::vector<chr::local_seconds> matches;
    for (auto t = at(2026, 1, 30); t < at(2026, 3, 5); t += chr::minutes{1}) {
      if (s.matches(to_civil(t))) matches.push_back(t);
    }
    ASSERT_GT(matches.size(), 3u) << text;
    for (std::size_t i = 0; i + 1 < matches.size(); ++i) {
      EXPECT_EQ(next_match(s, matches[i] + chr::seconds{1}), matches[i + 1]) << text;
      EXPECT_EQ(next_match(s, matches[i + 1] - chr::seconds{30}), matches[i + 1]) << text;
    }
  }
}

}  // namespace
}  // namespace shfn::cron
