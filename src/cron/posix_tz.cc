#include "cron/posix_tz.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace shfn::cron::detail {

namespace chr = std::chrono;

namespace {

class tz_reader {
 public:
  explicit tz_reader(std::string_view text) : s_(text) {}

  bool at_end() const { return p_ == s_.size(); }
  bool consume(char c) {
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  char peek() const { return p_ < s_.size() ? s_[p_] : '\0'; }

  // An abbreviation: three or more letters, or <...> of letters, digits, '+' and '-'.
  std::optional<std::string> name() {
    std::size_t start = p_;
    if (consume('<')) {
      while (p_ < s_.size() && (std::isalnum(uc(s_[p_])) || s_[p_] == '+' || s_[p_] == '-')) ++p_;
      std::string out(s_.substr(start + 1, p_ - start - 1));
      if (!consume('>') || out.empty()) return std::nullopt;
      return out;
    }
    while (p_ < s_.size() && std::isalpha(uc(s_[p_]))) ++p_;
    if (p_ - start < 3) return std::nullopt;
    return std::string(s_.substr(start, p_ - start));
  }

  // [+|-]hh[:mm[:ss]], hours up to `max_hours`.
  std::optional<chr::seconds> hms(int max_hours) {
    int sign = 1;
    if (consume('-')) {
      sign = -1;
    } else {
      consume('+');
    }
    auto h = number(3);
    if (!h || *h > max_hours) return std::nullopt;
    long total = *h * 3600L;
    if (consume(':')) {
      auto m = number(2);
      if (!m || *m > 59) return std::nullopt;
      total += *m * 60L;
      if (consume(':')) {
        auto sec = number(2);
        if (!sec || *sec > 59) return std::nullopt;
        total += *sec;
      }
    }
    return chr::seconds{sign * total};
  }

  std::optional<rule_date> date() {
    rule_date d;
    if (consume('J')) {
      d.form = rule_date::kind::julian;
      auto n = number(3);
      if (!n || *n < 1 || *n > 365) return std::nullopt;
      d.day = *n;
    } else if (consume('M')) {
      d.form = rule_date::kind::month_week_day;
      auto m = number(2);
      if (!m || *m < 1 || *m > 12 || !consume('.')) return std::nullopt;
      auto w = number(1);
      if (!w || *w < 1 || *w > 5 || !consume('.')) return std::nullopt;
      auto wd = number(1);
      if (!wd || *wd > 6) return std::nullopt;
      d.month = *m, d.week = *w, d.weekday = *wd;
    } else {
      d.form = rule_date::kind::zero_based;
      auto n = number(3);
      if (!n || *n > 365) return std::nullopt;
      d.day = *n;
    }
    return d;
  }

 private:
  static unsigned char uc(char c) { return static_cast<unsigned char>(c); }

  std::optional<int> number(int max_digits) {
    std::size_t start = p_;
    int v = 0;
    while (p_ < s_.size() && std::isdigit(uc(s_[p_])) && int(p_ - start) < max_digits) {
      v = v * 10 + (s_[p_] - '0');
      ++p_;
    }
    if (p_ == start) return std::nullopt;
    return v;
  }

  std::string_view s_;
  std::size_t p_ = 0;
};

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

chr::local_days day_of(const rule_date& r, int year) {
  chr::local_days jan1{chr::year{year} / chr::January / 1};
  switch (r.form) {
    case rule_date::kind::julian:
      return jan1 + chr::days{r.day - 1 + ((is_leap(year) && r.day >= 60) ? 1 : 0)};
    case rule_date::kind::zero_based:
      return jan1 + chr::days{r.day};
    case rule_date::kind::month_week_day:
      break;
  }
  chr::year_month ym{chr::year{year}, chr::month(unsigned(r.month))};
  chr::local_days first{ym / 1};
  int first_wd = int(chr::weekday{first}.c_encoding());
  int day = (r.weekday - first_wd + 7) % 7 + (r.week - 1) * 7;
  int length = int(unsigned((ym / chr::last).day()));
  while (day >= length) day -= 7;  // week 5: the last such weekday
  return first + chr::days{day};
}

chr::sys_seconds transition(const rule_date& r, chr::seconds time, chr::seconds offset_before,
                            int year) {
  return chr::sys_seconds{(day_of(r, year) + time).time_since_epoch() - offset_before};
}

chr::sys_seconds start_of_year(int year) {
  return chr::sys_days{chr::year{year} / chr::January / 1};
}

}  // namespace

std::optional<posix_tz> parse_posix_tz(std::string_view text) {
  tz_reader r(text);
  posix_tz tz;
  auto std_name = r.name();
  if (!std_name) return std::nullopt;
  // POSIX offsets count hours west of Greenwich: UTC-5 is "5".
  auto std_offset = r.hms(24);
  if (!std_offset) return std::nullopt;
  tz.standard = {.offset = -*std_offset, .dst = false, .abbrev = *std_name};
  if (r.at_end()) return tz;

  auto dst_name = r.name();
  if (!dst_name) return std::nullopt;
  local_type daylight{
      .offset = tz.standard.offset + chr::hours{1}, .dst = true, .abbrev = *dst_name};
  if (!r.at_end() && r.peek() != ',') {
    auto dst_offset = r.hms(24);
    if (!dst_offset) return std::nullopt;
    daylight.offset = -*dst_offset;
  }
  tz.daylight = daylight;
  if (r.at_end()) {
    // No rule: POSIX leaves it to the implementation; the US rule, as glibc assumes.
    tz.start = {.form = rule_date::kind::month_week_day, .month = 3, .week = 2, .weekday = 0};
    tz.end = {.form = rule_date::kind::month_week_day, .month = 11, .week = 1, .weekday = 0};
    return tz;
  }
  if (!r.consume(',')) return std::nullopt;
  auto start = r.date();
  if (!start) return std::nullopt;
  tz.start = *start;
  if (r.consume('/')) {
    auto t = r.hms(167);
    if (!t) return std::nullopt;
    tz.start_time = *t;
  }
  if (!r.consume(',')) return std::nullopt;
  auto end = r.date();
  if (!end) return std::nullopt;
  tz.end = *end;
  if (r.consume('/')) {
    auto t = r.hms(167);
    if (!t) return std::nullopt;
    tz.end_time = *t;
  }
  if (!r.at_end()) return std::nullopt;
  return tz;
}

rule_period posix_period(const posix_tz& tz, chr::sys_seconds t) {
  if (!tz.daylight) return {chr::sys_seconds::min(), chr::sys_seconds::max(), &tz.standard};
  int y = int(chr::year_month_day{chr::floor<chr::days>(t)}.year());
  y = std::clamp(y, -30000, 30000);
  // The transitions of the years around t, in time order. A transition that coincides with the
  // next year's opposite one (DST all year, "EST5EDT,0/0,J365/25") cancels out; processing each
  // instant's events in year order leaves the later year's state.
  std::array<std::pair<chr::sys_seconds, bool>, 6> events;
  for (int i = 0; i < 3; ++i) {
    int year = y - 1 + i;
    events[2 * i] = {transition(tz.start, tz.start_time, tz.standard.offset, year), true};
    events[2 * i + 1] = {transition(tz.end, tz.end_time, tz.daylight->offset, year), false};
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  bool in_dst = !events.front().second;
  chr::sys_seconds begin = start_of_year(y - 1);
  for (std::size_t i = 0; i < events.size();) {
    chr::sys_seconds at = events[i].first;
    bool state = in_dst;
    for (; i < events.size() && events[i].first == at; ++i) state = events[i].second;
    if (state == in_dst) continue;
    if (at > t) return {begin, at, in_dst ? &*tz.daylight : &tz.standard};
    begin = at;
    in_dst = state;
  }
  return {begin, start_of_year(y + 2), in_dst ? &*tz.daylight : &tz.standard};
}

}  // namespace shfn::cron::detail
