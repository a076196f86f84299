#include "cron/zone.h"

#include <gtest/gtest.h>
#include <time.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "base/temp_dir.h"
#include "cron/tests/tzif_builder.h"

namespace shfn::cron {
namespace {

namespace chr = std::chrono;
using testing::build_tzif;
using testing::tzif_spec;

sys_seconds utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return sys_seconds{from_civil(y, mo, d, h, mi, s).time_since_epoch()};
}

local_seconds local(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return from_civil(y, mo, d, h, mi, s);
}

zone must_load(std::string_view name) {
  auto z = zone::load(name);
  EXPECT_TRUE(z.has_value()) << name << ": " << (z ? "" : z.error().message);
  return z ? *z : zone();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(zone, utc_needs_no_tzdata) {
  for (const char* name : {"UTC", "Etc/UTC"}) {
    auto z = zone::load(name, {.root = "/nonexistent/zoneinfo"});
    ASSERT_TRUE(z.has_value()) << name;
    EXPECT_EQ(z->name(), name);
    auto l = z->to_local(utc(2026, 3, 8, 2, 30));
    EXPECT_EQ(l.local, local(2026, 3, 8, 2, 30));
    EXPECT_EQ(l.offset, chr::seconds{0});
    EXPECT_EQ(l.abbrev, "UTC");
    EXPECT_FALSE(l.dst);
  }
  zone z;
  EXPECT_EQ(z.name(), "UTC");
  EXPECT_EQ(z.period_at(utc(2026, 1, 1)).end, sys_seconds::max());
}

TEST(zone, new_york_standard_and_daylight_time) {
  auto z = must_load("America/New_York");
  EXPECT_EQ(z.name(), "America/New_York");
  auto winter = z.to_local(utc(2026, 1, 15, 12));
  EXPECT_EQ(winter.local, local(2026, 1, 15, 7));
  EXPECT_EQ(winter.offset, chr::hours{-5});
  EXPECT_EQ(winter.abbrev, "EST");
  EXPECT_FALSE(winter.dst);
  EXPECT_EQ(winter.fields.hour, 7);
  EXPECT_EQ(winter.fields.weekday, 4);  // Thursday
  auto summer = z.to_local(utc(2026, 7, 1, 12));
  EXPECT_EQ(summer.local, local(2026, 7, 1, 8));
  EXPECT_EQ(summer.abbrev, "EDT");
  EXPECT_TRUE(summer.dst);
  auto p = z.period_at(utc(2026, 6, 1));
  EXPECT_EQ(p.begin, utc(2026, 3, 8, 7));
  EXPECT_EQ(p.end, utc(2026, 11, 1, 6));
  EXPECT_EQ(p.offset, chr::hours{-4});
}

TEST(zone, transitions_happen_at_the_exact_second) {
  auto ny = must_load("America/New_York");
  EXPECT_EQ(ny.to_local(utc(2026, 3, 8, 6, 59, 59)).local, local(2026, 3, 8, 1, 59, 59));
  EXPECT_EQ(ny.to_local(utc(2026, 3, 8, 7)).local, local(2026, 3, 8, 3));
  EXPECT_EQ(ny.to_local(utc(2026, 11, 1, 5, 59, 59)).local, local(2026, 11, 1, 1, 59, 59));
  EXPECT_EQ(ny.to_local(utc(2026, 11, 1, 6)).local, local(2026, 11, 1, 1));
  auto berlin = must_load("Europe/Berlin");
  EXPECT_EQ(berlin.to_local(utc(2026, 3, 29, 0, 59, 59)).local, local(2026, 3, 29, 1, 59, 59));
  EXPECT_EQ(berlin.to_local(utc(2026, 3, 29, 1)).local, local(2026, 3, 29, 3));
  EXPECT_EQ(berlin.to_local(utc(2026, 10, 25, 1)).local, local(2026, 10, 25, 2));
  EXPECT_EQ(berlin.to_local(utc(2026, 10, 25, 1)).abbrev, "CET");
  // Lord Howe moves its clocks by half an hour.
  auto lh = must_load("Australia/Lord_Howe");
  EXPECT_EQ(lh.to_local(utc(2026, 10, 3, 15, 29, 59)).local, local(2026, 10, 4, 1, 59, 59));
  EXPECT_EQ(lh.to_local(utc(2026, 10, 3, 15, 30)).local, local(2026, 10, 4, 2, 30));
  EXPECT_EQ(lh.to_local(utc(2026, 10, 3, 15, 30)).offset, chr::minutes{11 * 60});
  EXPECT_EQ(lh.to_local(utc(2026, 4, 4, 15)).local, local(2026, 4, 5, 1, 30));
}

TEST(zone, from_local_reports_gaps_and_overlaps) {
  auto ny = must_load("America/New_York");
  auto gap = ny.from_local(local(2026, 3, 8, 2, 30));
  EXPECT_EQ(gap.count, 0);
  EXPECT_EQ(gap.first_at_or_after, utc(2026, 3, 8, 7));  // 03:00 EDT
  auto overlap = ny.from_local(local(2026, 11, 1, 1, 30));
  ASSERT_EQ(overlap.count, 2);
  EXPECT_EQ(overlap.instants[0], utc(2026, 11, 1, 5, 30));  // 01:30 EDT
  EXPECT_EQ(overlap.instants[1], utc(2026, 11, 1, 6, 30));  // 01:30 EST
  EXPECT_EQ(overlap.first_at_or_after, utc(2026, 11, 1, 5, 30));
  auto normal = ny.from_local(local(2026, 11, 1, 2, 30));
  ASSERT_EQ(normal.count, 1);
  EXPECT_EQ(normal.instants[0], utc(2026, 11, 1, 7, 30));
  // The edges: 02:00 is skipped, 03:00 exists once; 01:00 repeats, 02:00 exists once.
  EXPECT_EQ(ny.from_local(local(2026, 3, 8, 2)).count, 0);
  EXPECT_EQ(ny.from_local(local(2026, 3, 8, 3)).count, 1);
  EXPECT_EQ(ny.from_local(local(2026, 3, 8, 1, 59, 59)).count, 1);
  EXPECT_EQ(ny.from_local(local(2026, 11, 1, 1)).count, 2);
  EXPECT_EQ(ny.from_local(local(2026, 11, 1, 0, 59, 59)).count, 1);
  EXPECT_EQ(ny.from_local(local(2026, 11, 1, 2)).count, 1);

  auto lh = must_load("Australia/Lord_Howe");
  auto half_gap = lh.from_local(local(2026, 10, 4, 2, 15));
  EXPECT_EQ(half_gap.count, 0);
  EXPECT_EQ(half_gap.first_at_or_after, utc(2026, 10, 3, 15, 30));
  auto half_overlap = lh.from_local(local(2026, 4, 5, 1, 45));
  ASSERT_EQ(half_overlap.count, 2);
  EXPECT_EQ(half_overlap.instants[1] - half_overlap.instants[0], chr::minutes{30});
}

TEST(zone, from_local_inverts_to_local_all_year) {
  for (const char* name : {"America/New_York", "Europe/Berlin", "Australia/Lord_Howe",
                           "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham"}) {
    auto z = must_load(name);
    for (auto t = utc(2026, 1, 1); t < utc(2027, 1, 1); t += chr::minutes{10}) {
      auto l = z.to_local(t);
      auto back = z.from_local(l.local);
      ASSERT_GE(back.count, 1) << name;
      bool found = back.instants[0] == t || (back.count == 2 && back.instants[1] == t);
      ASSERT_TRUE(found) << name << " " << t.time_since_epoch().count();
      ASSERT_LE(back.first_at_or_after, t);
    }
  }
}

TEST(zone, zone_without_daylight_saving_time) {
  auto z = must_load("Asia/Kolkata");
  auto p = z.period_at(utc(2026, 6, 1));
  EXPECT_EQ(p.offset, chr::minutes{5 * 60 + 30});
  EXPECT_EQ(p.abbrev, "IST");
  EXPECT_FALSE(p.dst);
  EXPECT_EQ(p.end, sys_seconds::max());  // no transition ever again
  EXPECT_EQ(z.to_local(utc(2026, 6, 1)).local, local(2026, 6, 1, 5, 30));
}

TEST(zone, after_the_table_the_footer_rule_applies) {
  // Debian's tzdata tables stop in 2037; 2100 comes from the "EST5EDT,M3.2.0,M11.1.0" footer.
  auto ny = must_load("America/New_York");
  chr::local_days march{chr::year{2100} / chr::March / chr::Sunday[2]};
  chr::local_days november{chr::year{2100} / chr::November / chr::Sunday[1]};
  auto p = ny.period_at(utc(2100, 7, 4));
  EXPECT_EQ(p.begin, sys_seconds{(march + chr::hours{7}).time_since_epoch()});
  EXPECT_EQ(p.end, sys_seconds{(november + chr::hours{6}).time_since_epoch()});
  EXPECT_EQ(p.abbrev, "EDT");
  EXPECT_EQ(ny.to_local(utc(2100, 1, 1)).abbrev, "EST");
  auto gap = ny.from_local(march + chr::hours{2} + chr::minutes{30});
  EXPECT_EQ(gap.count, 0);
  EXPECT_EQ(gap.first_at_or_after, p.begin);
}

TEST(zone, before_the_first_transition_local_mean_time_applies) {
  auto ny = must_load("America/New_York");
  auto l = ny.to_local(utc(1800, 1, 1));
  EXPECT_EQ(l.abbrev, "LMT");
  EXPECT_EQ(l.offset, -(chr::hours{4} + chr::minutes{56} + chr::seconds{2}));
  EXPECT_EQ(ny.period_at(utc(1800, 1, 1)).begin, sys_seconds::min());
}

// glibc as an independent oracle (tests only: the library never touches TZ or localtime_r).
class glibc_tz {
 public:
  explicit glibc_tz(const std::string& name) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    setenv("TZ", (":" + name).c_str(), 1);
    tzset();
  }
  ~glibc_tz() {
    if (old_) {
      setenv("TZ", old_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  struct answer {
    long offset;
    bool dst;
    std::string abbrev;
  };
  answer at(sys_seconds t) const {
    time_t tt = time_t(t.time_since_epoch().count());
    struct tm tm {};
    localtime_r(&tt, &tm);
    return {tm.tm_gmtoff, tm.tm_isdst > 0, tm.tm_zone};
  }

 private:
  std::optional<std::string> old_;
};

TEST(zone, agrees_with_glibc_from_1900_to_2200) {
  for (const char* name :
       {"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata",
        "America/Sao_Paulo", "Europe/Dublin", "Pacific/Apia", "Africa/Casablanca",
        "America/Santiago", "Antarctica/Troll", "America/Nuuk", "Asia/Tehran"}) {
    auto z = must_load(name);
    glibc_tz oracle(name);
    auto check = [&](sys_seconds t) {
      auto ours = z.to_local(t);
      auto theirs = oracle.at(t);
      ASSERT_EQ(ours.offset.count(), theirs.offset)
          << name << " at " << t.time_since_epoch().count();
      ASSERT_EQ(ours.dst, theirs.dst) << name << " at " << t.time_since_epoch().count();
      ASSERT_EQ(ours.abbrev, theirs.abbrev) << name << " at " << t.time_since_epoch().count();
    };
    // Every transition, a second either side, and samples between.
    for (auto t = utc(1900, 1, 1); t < utc(2200, 1, 1);) {
      auto p = z.period_at(t);
      check(t);
      if (p.end == sys_seconds::max()) break;
      auto next = std::min(p.end, t + chr::days{97} + chr::hours{5});
      if (next == p.end) {
        check(p.end - chr::seconds{1});
        check(p.end);
      }
      t = next;
    }
  }
}

TEST(zone, unknown_names_are_refused_with_a_suggestion) {
  struct {
    const char* name;
    const char* message;
  } cases[] = {
      {"Europe/Pariss", "unknown time zone \"Europe/Pariss\" (did you mean \"Europe/Paris\"?)"},
      {"europe/paris", "unknown time zone \"europe/paris\" (did you mean \"Europe/Paris\"?)"},
      {"Paris", "unknown time zone \"Paris\" (did you mean \"Europe/Paris\"?)"},
      {"America/NewYork",
       "unknown time zone \"America/NewYork\" (did you mean \"America/New_York\"?)"},
      {"Nowhere/Atlantis", "unknown time zone \"Nowhere/Atlantis\""},
  };
  for (const auto& c : cases) {
    auto z = zone::load(c.name);
    ASSERT_FALSE(z.has_value()) << c.name;
    EXPECT_EQ(z.error().code, zone_errc::unknown_zone) << c.name;
    EXPECT_EQ(z.error().message, c.message);
  }
}

TEST(zone, names_cannot_leave_the_zoneinfo_directory) {
  for (const char* name :
       {"", "../../etc/passwd", "/etc/passwd", "Europe/../../../etc/passwd", "Europe//Paris",
        "Europe/./Paris", "Europe/Paris/", "Europe/Par is", "Europe/Paris\n"}) {
    auto z = zone::load(name);
    ASSERT_FALSE(z.has_value()) << name;
    EXPECT_EQ(z.error().code, zone_errc::invalid_name) << name;
    EXPECT_EQ(z.error().message, "invalid time zone name \"" + std::string(name) +
                                     "\" (expected an IANA name such as \"Europe/Paris\")");
  }
}

TEST(zone, files_that_are_not_zones_are_unknown) {
  auto dir = zone::load("America");
  ASSERT_FALSE(dir.has_value());
  EXPECT_EQ(dir.error().code, zone_errc::unknown_zone);
  auto table = zone::load("zone.tab");
  ASSERT_FALSE(table.has_value());
  EXPECT_EQ(table.error().code, zone_errc::unknown_zone);
  EXPECT_EQ(table.error().message,
            "unknown time zone \"zone.tab\" (/usr/share/zoneinfo/zone.tab is not a TZif file)");
  // Debian 12 ships right/ in tzdata (later releases move it to tzdata-legacy).
  if (!std::filesystem::exists("/usr/share/zoneinfo/right/Europe/Berlin"))
    GTEST_SKIP() << "no right/ zones on this host";
  auto leap = zone::load("right/Europe/Berlin");
  ASSERT_FALSE(leap.has_value());
  EXPECT_EQ(leap.error().code, zone_errc::bad_data);
  EXPECT_NE(leap.error().message.find("leap-second time zones (\"right/\") are not supported"),
            std::string::npos)
      << leap.error().message;
}

TEST(zone, root_override_and_links) {
  temp_dir dir("cron-zone");
  ASSERT_FALSE(dir.path().empty());
  tzif_spec spec{.types = {{3600, false, "ONE"}}, .footer = "ONE-1"};
  write_file(dir / "Test/One", build_tzif(spec));
  std::filesystem::create_symlink("Test/One", dir / "Alias");
  write_file(dir.path().parent_path() / (dir.path().filename().string() + ".outside"),
             build_tzif(spec));
  std::filesystem::create_symlink(
      dir.path().parent_path() / (dir.path().filename().string() + ".outside"), dir / "localtime");

  auto one = zone::load("Test/One", {.root = dir.path().string()});
  ASSERT_TRUE(one.has_value()) << one.error().message;
  EXPECT_EQ(one->to_local(utc(2026, 1, 1)).offset, chr::hours{1});
  auto alias = zone::load("Alias", {.root = dir.path().string()});
  ASSERT_TRUE(alias.has_value());
  EXPECT_EQ(alias->name(), "Alias");
  EXPECT_EQ(alias->to_local(utc(2026, 1, 1)).abbrev, "ONE");

  auto outside = zone::load("localtime", {.root = dir.path().string()});
  ASSERT_FALSE(outside.has_value());
  EXPECT_EQ(outside.error().code, zone_errc::unknown_zone);
  std::filesystem::remove(dir.path().parent_path() / (dir.path().filename().string() + ".outside"));

  auto missing_root = zone::load("Europe/Paris", {.root = "/nonexistent/zoneinfo"});
  ASSERT_FALSE(missing_root.has_value());
  EXPECT_EQ(missing_root.error().message,
            "unknown time zone \"Europe/Paris\" (no time zone data in /nonexistent/zoneinfo)");
}

TEST(tzif, version_1_file_uses_its_table_and_then_the_last_type) {
  tzif_spec spec{.version = 0,
                 .times = {1000000, 2000000},
                 .type_of = {1, 2},
                 .types = {{1000, false, "LMT"}, {3600, false, "AST"}, {7200, true, "ADT"}}};
  auto z = zone::from_tzif("Test/V1", build_tzif(spec));
  ASSERT_TRUE(z.has_value()) << z.error().message;
  auto before = z->period_at(sys_seconds{chr::seconds{999999}});
  EXPECT_EQ(before.abbrev, "LMT");  // type 0 before the first transition
  EXPECT_EQ(before.offset, chr::seconds{1000});
  EXPECT_EQ(before.end, sys_seconds{chr::seconds{1000000}});
  EXPECT_EQ(z->period_at(sys_seconds{chr::seconds{1000000}}).abbrev, "AST");
  auto last = z->period_at(utc(2026, 1, 1));
  EXPECT_EQ(last.abbrev, "ADT");
  EXPECT_TRUE(last.dst);
  EXPECT_EQ(last.begin, sys_seconds{chr::seconds{2000000}});
  EXPECT_EQ(last.end, sys_seconds::max());
}

TEST(tzif, footer_rule_takes_over_after_the_last_transition) {
  tzif_spec spec{.times = {0},
                 .type_of = {1},
                 .types = {{0, false, "LMT"}, {3600, false, "XST"}, {7200, true, "XDT"}},
                 .footer = "XST-1XDT,M3.5.0,M10.5.0/3"};
  auto z = zone::from_tzif("Test/Footer", build_tzif(spec));
  ASSERT_TRUE(z.has_value()) << z.error().message;
  auto summer = z->period_at(utc(2026, 6, 1));
  EXPECT_EQ(summer.abbrev, "XDT");
  EXPECT_EQ(summer.offset, chr::hours{2});
  EXPECT_EQ(summer.begin, utc(2026, 3, 29, 1));
  EXPECT_EQ(summer.end, utc(2026, 10, 25, 1));
  auto winter = z->period_at(utc(2026, 12, 1));
  EXPECT_EQ(winter.begin, utc(2026, 10, 25, 1));
  EXPECT_EQ(winter.end, utc(2027, 3, 28, 1));
  // Right after the last transition: the footer's period, starting at that transition.
  auto first = z->period_at(sys_seconds{chr::seconds{1}});
  EXPECT_EQ(first.abbrev, "XST");
  EXPECT_EQ(first.begin, sys_seconds{chr::seconds{0}});
  EXPECT_EQ(z->period_at(sys_seconds{chr::seconds{-1}}).abbrev, "LMT");
}

TEST(tzif, footer_alone_covers_all_time) {
  // Southern hemisphere: DST from October to April, across the new year.
  tzif_spec spec{.types = {{36000, false, "AAA"}}, .footer = "AAA-10BBB,M10.1.0,M4.1.0/3"};
  auto z = zone::from_tzif("Test/South", build_tzif(spec));
  ASSERT_TRUE(z.has_value()) << z.error().message;
  EXPECT_EQ(z->to_local(utc(1900, 1, 15)).abbrev, "BBB");
  EXPECT_EQ(z->to_local(utc(2026, 7, 1)).abbrev, "AAA");
  auto summer = z->period_at(utc(2027, 1, 1));
  EXPECT_EQ(summer.offset, chr::hours{11});
  EXPECT_EQ(summer.begin, utc(2026, 10, 3, 16));  // Sunday 4 October 02:00 +10
  EXPECT_EQ(summer.end, utc(2027, 4, 3, 16));     // Sunday 4 April 03:00 +11
}

TEST(tzif, footer_variants) {
  struct {
    const char* footer;
    sys_seconds at;
    int offset;
    const char* abbrev;
  } cases[] = {
      // DST all year (RFC 8536 version 3 extension).
      {"EST5EDT,0/0,J365/25", utc(2026, 1, 1), -4 * 3600, "EDT"},
      {"EST5EDT,0/0,J365/25", utc(2026, 12, 31, 23), -4 * 3600, "EDT"},
      // Negative DST: Irish Standard Time in summer, GMT flagged as DST in winter.
      {"IST-1GMT0,M10.5.0,M3.5.0/1", utc(2026, 7, 1), 3600, "IST"},
      {"IST-1GMT0,M10.5.0,M3.5.0/1", utc(2026, 12, 1), 0, "GMT"},
      // Negative and over-24h transition times, numeric abbreviations.
      {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", utc(2026, 3, 29, 0, 59), -2 * 3600, "-02"},
      {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", utc(2026, 3, 29, 1), -3600, "-01"},
      {"XXX3YYY,M3.2.0/26,M11.1.0", utc(2026, 3, 9, 4, 59), -3 * 3600, "XXX"},
      {"XXX3YYY,M3.2.0/26,M11.1.0", utc(2026, 3, 9, 5), -2 * 3600, "YYY"},
      // Julian days: J60 is 1 March in every year; 59 (zero-based) is 29 February in leap years.
      {"AAA0BBB,J60/0,J300/0", utc(2028, 3, 1), 3600, "BBB"},
      {"AAA0BBB,J60/0,J300/0", utc(2028, 2, 29, 23, 59), 0, "AAA"},
      {"AAA0BBB,59/0,300/0", utc(2028, 2, 29), 3600, "BBB"},
      {"AAA0BBB,59/0,300/0", utc(2028, 2, 28, 23, 59), 0, "AAA"},
      // DST without a rule: the US rule.
      {"EST5EDT", utc(2026, 7, 1), -4 * 3600, "EDT"},
      // A DST offset given explicitly (Lord Howe's half hour).
      {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", utc(2026, 10, 3, 15, 30), 11 * 3600, "+11"},
  };
  for (const auto& c : cases) {
    tzif_spec spec{.types = {{0, false, "UTC"}}, .footer = c.footer};
    auto z = zone::from_tzif("Test/Footer", build_tzif(spec));
    ASSERT_TRUE(z.has_value()) << c.footer << ": " << z.error().message;
    auto l = z->to_local(c.at);
    EXPECT_EQ(l.offset.count(), c.offset) << c.footer;
    EXPECT_EQ(l.abbrev, c.abbrev) << c.footer;
  }
}

TEST(tzif, dst_all_year_has_no_real_transitions) {
  tzif_spec spec{.types = {{0, false, "UTC"}}, .footer = "EST5EDT,0/0,J365/25"};
  auto z = zone::from_tzif("Test/AllYear", build_tzif(spec));
  ASSERT_TRUE(z.has_value());
  // Whatever boundaries the periods have, the offset never changes and every local time exists
  // exactly once.
  for (auto t = utc(2025, 12, 30); t < utc(2027, 1, 3); t += chr::hours{5}) {
    EXPECT_EQ(z->to_local(t).offset, chr::hours{-4});
  }
  EXPECT_EQ(z->from_local(local(2027, 1, 1, 0, 30)).count, 1);
}

TEST(tzif, damaged_data_is_refused) {
  std::string good = read_file("/usr/share/zoneinfo/America/New_York");
  ASSERT_GT(good.size(), 100u);
  ASSERT_TRUE(zone::from_tzif("ny", good).has_value());
  // Every truncation fails cleanly.
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto z = zone::from_tzif("ny", good.substr(0, n));
    ASSERT_FALSE(z.has_value()) << n;
    EXPECT_EQ(z.error().code, zone_errc::bad_data);
  }
  struct {
    tzif_spec spec;
    const char* message;
  } cases[] = {
      {{.types = {{0, false, "UTC"}}, .footer = "garbage"},
       "time zone \"t\": invalid TZ string in the TZif footer: \"garbage\""},
      {{.times = {10, 5}, .type_of = {0, 0}, .types = {{0, false, "UTC"}}, .footer = "UTC0"},
       "time zone \"t\": TZif transition times are not ascending"},
      {{.times = {10}, .type_of = {3}, .types = {{0, false, "UTC"}}, .footer = "UTC0"},
       "time zone \"t\": TZif transition type out of range"},
      {{.types = {}, .footer = "UTC0"}, "time zone \"t\": TZif data has no local time types"},
      {{.types = {{26 * 3600, false, "FAR"}}, .footer = ""},
       "time zone \"t\": TZif UTC offset out of range"},
      {{.types = {{0, false, "UTC"}}, .footer = "UTC0", .leap_count = 2},
       "time zone \"t\": leap-second time zones (\"right/\") are not supported; use the plain "
       "name"},
  };
  for (const auto& c : cases) {
    auto z = zone::from_tzif("t", build_tzif(c.spec));
    ASSERT_FALSE(z.has_value()) << c.message;
    EXPECT_EQ(z.error().message, c.message);
  }
  auto not_tzif = zone::from_tzif("t", "# tzdb data for ...\n");
  ASSERT_FALSE(not_tzif.has_value());
  EXPECT_EQ(not_tzif.error().message, "time zone \"t\": not a TZif file");
}

TEST(zone, copies_share_data_and_outlive_the_original) {
  std::string_view abbrev;
  zone copy;
  {
    auto z = must_load("Europe/Berlin");
    copy = z;
    abbrev = z.to_local(utc(2026, 7, 1)).abbrev;
  }
  EXPECT_EQ(copy.name(), "Europe/Berlin");
  EXPECT_EQ(abbrev, "CEST");  // still valid: the copy keeps the data alive
  EXPECT_EQ(copy.to_local(utc(2026, 7, 1)).abbrev, "CEST");
}

}  // namespace
}  // namespace shfn::cron
