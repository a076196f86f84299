// A hand-written scanner for the fixed-length subset of ISO-8601 durations: no library among the
// project's dependencies parses them, and the subset is a few components in a fixed order.

#include "config/duration.h"

#include <cstdint>
#include <limits>

#include "config/reader.h"

namespace shfn::config {
namespace {

using std::chrono::milliseconds;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The position of each unit in the order ISO-8601 writes them; a unit may only follow a smaller
// one.
enum rank : int { week = 0, day = 1, hour = 2, minute = 3, second = 4 };

constexpr std::int64_t unit_ms[] = {7 * 86'400'000LL, 86'400'000LL, 3'600'000LL, 60'000LL, 1'000LL};

struct scanner {
  std::string_view text;
  std::size_t i = 0;

  tl::unexpected<std::string> fail(std::string_view why) const {
    return tl::unexpected("invalid ISO-8601 duration " + quote(text) + ": " + std::string(why));
  }
};

constexpr std::string_view expected_form = "expected e.g. PT5S or PT0.5S";

// value * unit + fraction (milliseconds), added to total; false on overflow.
bool accumulate(std::string_view digits, std::int64_t unit, std::int64_t fraction_ms,
                std::int64_t& total) {
  std::int64_t value = 0;
  for (char c : digits) {
    if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, c - '0', &value))
      return false;
  }
  std::int64_t ms = 0;
  if (__builtin_mul_overflow(value, unit, &ms) || __builtin_add_overflow(ms, fraction_ms, &ms) ||
      __builtin_add_overflow(total, ms, &total))
    return false;
  return true;
}

}  // namespace

tl::expected<milliseconds, std::string> parse_duration(std::string_view text) {
  scanner s{text};
  if (!text.empty() && text[0] == '-') return s.fail("must not be negative");
  if (text.empty() || text[0] != 'P') return s.fail(expected_form);
  s.i = 1;
  bool in_time = false;
  int last = -1;
  int components = 0, time_components = 0;
  std::int64_t total = 0;
  while (s.i < text.size()) {
    if (text[s.i] == 'T') {
      if (in_time) return s.fail(expected_form);
      in_time = true;
      ++s.i;
      continue;
    }
    const std::size_t start = s.i;
    while (s.i < text.size() && is_digit(text[s.i])) ++s.i;
    const std::string_view whole = text.substr(start, s.i - start);
    if (whole.empty()) return s.fail(expected_form);
    std::string_view fraction;
    if (s.i < text.size() && (text[s.i] == '.' || text[s.i] == ',')) {
      const std::size_t f = ++s.i;
      while (s.i < text.size() && is_digit(text[s.i])) ++s.i;
      fraction = text.substr(f, s.i - f);
      if (fraction.empty()) return s.fail(expected_form);
    }
    if (s.i == text.size()) return s.fail(expected_form);
    const char unit = text[s.i++];
    int r = -1;
    if (!in_time) {
      if (unit == 'Y')
        return s.fail(
            "years are not supported: a year has no fixed length (write days, e.g. P365D)");
      if (unit == 'M')
        return s.fail(
            "months are not supported: a month has no fixed length (for minutes write PT1M)");
      if (unit == 'W') r = week;
      if (unit == 'D') r = day;
    } else {
      if (unit == 'H') r = hour;
      if (unit == 'M') r = minute;
      if (unit == 'S') r = second;
    }
    if (r < 0) return s.fail(expected_form);
    if (r == week ? components > 0 : last == week)
      return s.fail("weeks cannot be combined with other units (write days, e.g. P10D)");
    if (r <= last) {
      return s.fail(
          "units out of order or repeated: expected days, then T, then hours, minutes and "
          "seconds");
    }
    if (!fraction.empty() && r != second)
      return s.fail("only seconds may have a fraction, e.g. PT1.5S");
    std::int64_t fraction_ms = 0;
    for (std::size_t k = 0; k < fraction.size(); ++k) {
      if (k < 3)
        fraction_ms = fraction_ms * 10 + (fraction[k] - '0');
      else if (fraction[k] != '0')
        return s.fail("finer than a millisecond");
    }
    for (std::size_t k = fraction.size(); k < 3 && !fraction.empty(); ++k) fraction_ms *= 10;
    if (!accumulate(whole, unit_ms[r], fraction_ms, total)) return s.fail("too large");
    last = r;
    ++components;
    if (in_time) ++time_components;
  }
  if (components == 0 || (in_time && time_components == 0)) return s.fail(expected_form);
  return milliseconds(total);
}

}  // namespace shfn::config
