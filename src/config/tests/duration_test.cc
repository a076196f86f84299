// ISO-8601 durations (Knative's backoffDelay, timeout): the fixed-length subset, and the exact
// message for each way of getting one wrong.

#include "config/duration.h"

#include <gtest/gtest.h>

#include <limits>

namespace shfn::config {
namespace {

using std::chrono::milliseconds;

std::int64_t ms(std::string_view text) {
  auto d = parse_duration(text);
  EXPECT_TRUE(d) << text << ": " << (d ? "" : d.error());
  return d ? d->count() : -1;
}

std::string error_of(std::string_view text) {
  auto d = parse_duration(text);
  EXPECT_FALSE(d) << text << " parsed as " << (d ? d->count() : 0) << " ms";
  return d ? "" : d.error();
}

TEST(duration_test, each_unit) {
  EXPECT_EQ(ms("PT5S"), 5'000);
  EXPECT_EQ(ms("PT2M"), 120'000);
  EXPECT_EQ(ms("PT3H"), 10'800'000);
  EXPECT_EQ(ms("P1D"), 86'400'000);
  EXPECT_EQ(ms("P2W"), 14 * 86'400'000LL);
  EXPECT_EQ(ms("PT0S"), 0);
  EXPECT_EQ(ms("P0D"), 0);
}

TEST(duration_test, units_combine_in_order) {
  EXPECT_EQ(ms("P1DT2H3M4S"), 86'400'000 + 7'200'000 + 180'000 + 4'000);
  EXPECT_EQ(ms("PT1H30M"), 5'400'000);
  EXPECT_EQ(ms("PT1M0.5S"), 60'500);
  EXPECT_EQ(ms("P1DT1S"), 86'401'000);
  EXPECT_EQ(ms("PT90M"), 5'400'000);  // no carrying rules: 90 minutes is fine
  EXPECT_EQ(ms("PT0100S"), 100'000);  // leading zeros
}

TEST(duration_test, fractions_of_seconds_to_the_millisecond) {
  EXPECT_EQ(ms("PT0.2S"), 200);  // Knative's default backoffDelay
  EXPECT_EQ(ms("PT0.5S"), 500);
  EXPECT_EQ(ms("PT1.25S"), 1'250);
  EXPECT_EQ(ms("PT0.001S"), 1);
  EXPECT_EQ(ms("PT0.1000S"), 100);  // zeros past the millisecond are exact
  EXPECT_EQ(ms("PT0,5S"), 500);     // ISO-8601 allows (and prefers) a comma
}

TEST(duration_test, not_iso_8601) {
  const std::string expected = ": expected e.g. PT5S or PT0.5S";
  for (std::string_view text :
       {"5s",    "5",     "",    "P",    "PT",    "P1DT", "pt5s",  "PT5s",  "PT5",   "T5S",
        "PT.5S", "PT5.S", "P1H", "PT1D", "PTT1S", "P 1D", "PT1S ", "PT1SX", "PT-1S", "PT1,S"}) {
    EXPECT_EQ(error_of(text), "invalid ISO-8601 duration \"" + std::string(text) + "\"" + expected)
        << text;
  }
}

TEST(duration_test, years_and_months_have_no_fixed_length) {
  EXPECT_EQ(error_of("P1Y"),
            "invalid ISO-8601 duration \"P1Y\": years are not supported: a year has no fixed "
            "length (write days, e.g. P365D)");
  // The classic mistake: one month where one minute was meant.
  EXPECT_EQ(error_of("P1M"),
            "invalid ISO-8601 duration \"P1M\": months are not supported: a month has no fixed "
            "length (for minutes write PT1M)");
  EXPECT_EQ(ms("PT1M"), 60'000);
}

TEST(duration_test, order_weeks_fractions_sign_and_size) {
  const std::string order =
      "units out of order or repeated: expected days, then T, then hours, minutes and seconds";
  EXPECT_EQ(error_of("PT1S1M"), "invalid ISO-8601 duration \"PT1S1M\": " + order);
  EXPECT_EQ(error_of("PT1H1H"), "invalid ISO-8601 duration \"PT1H1H\": " + order);
  EXPECT_EQ(error_of("P1D2D"), "invalid ISO-8601 duration \"P1D2D\": " + order);
  const std::string weeks = "weeks cannot be combined with other units (write days, e.g. P10D)";
  EXPECT_EQ(error_of("P1W3D"), "invalid ISO-8601 duration \"P1W3D\": " + weeks);
  EXPECT_EQ(error_of("P3D1W"), "invalid ISO-8601 duration \"P3D1W\": " + weeks);
  EXPECT_EQ(error_of("P1WT1H"), "invalid ISO-8601 duration \"P1WT1H\": " + weeks);
  EXPECT_EQ(error_of("PT1.5M"),
            "invalid ISO-8601 duration \"PT1.5M\": only seconds may have a fraction, e.g. PT1.5S");
  EXPECT_EQ(error_of("P0.5D"),
            "invalid ISO-8601 duration \"P0.5D\": only seconds may have a fraction, e.g. PT1.5S");
  EXPECT_EQ(error_of("PT0.0001S"),
            "invalid ISO-8601 duration \"PT0.0001S\": finer than a millisecond");
  EXPECT_EQ(error_of("-PT1S"), "invalid ISO-8601 duration \"-PT1S\": must not be negative");
  EXPECT_EQ(error_of("PT99999999999999999999S"),
            "invalid ISO-8601 duration \"PT99999999999999999999S\": too large");
  EXPECT_EQ(error_of("P15250284453W"),  // just past the largest int64 of milliseconds
            "invalid ISO-8601 duration \"P15250284453W\": too large");
  EXPECT_EQ(ms("PT9223372036854775.807S"), std::numeric_limits<std::int64_t>::max());
}

}  // namespace
}  // namespace shfn::config
