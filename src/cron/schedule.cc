#include "cron/schedule.h"

#include <array>
#include <bit>
#include <cctype>
#include <string>
#include <vector>

namespace shfn::cron {

namespace chr = std::chrono;

civil_time to_civil(chr::local_seconds t) {
  auto day = chr::floor<chr::days>(t);
  chr::year_month_day ymd{day};
  auto secs = (t - day).count();
  return {.year = int(ymd.year()),
          .month = int(unsigned(ymd.month())),
          .day = int(unsigned(ymd.day())),
          .hour = int(secs / 3600),
          .minute = int(secs / 60 % 60),
          .second = int(secs % 60),
          .weekday = int(chr::weekday{day}.c_encoding())};
}

chr::local_seconds from_civil(int year, int month, int day, int hour, int minute, int second) {
  // A day past the month's end counts on into the next month, as the standard specifies for
  // year_month_day with a valid year and month.
  chr::local_days d{chr::year{year} / chr::month(unsigned(month)) / chr::day(1)};
  return d + chr::days{day - 1} + chr::hours{hour} + chr::minutes{minute} + chr::seconds{second};
}

bool schedule::day_matches(int day, int weekday) const {
  bool dom = (days >> day) & 1u;
  bool dow = (weekdays >> weekday) & 1u;
  return (day_star || weekday_star) ? (dom && dow) : (dom || dow);
}

bool schedule::matches(const civil_time& t) const {
  return ((minutes >> t.minute) & 1u) && ((hours >> t.hour) & 1u) && ((months >> t.month) & 1u) &&
         day_matches(t.day, t.weekday);
}

namespace {

constexpr std::array<const char*, 12> month_names = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 7> weekday_names = {"SUN", "MON", "TUE", "WED",
                                                      "THU", "FRI", "SAT"};
constexpr std::array<const char*, 12> month_long_names = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
// Longest each month can be (February: in leap years).
constexpr std::array<int, 13> max_month_days = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

struct field_spec {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names[i] is value names_base + i; null when the field has none
  int names_count;
  int names_base;
  bool allows_question;  // `?` means `*` (Knative, robfig) in the day fields
};

constexpr std::array<field_spec, 5> fields = {{
    {"minute", 0, 59, nullptr, 0, 0, false},
    {"hour", 0, 23, nullptr, 0, 0, false},
    {"day-of-month", 1, 31, nullptr, 0, 0, true},
    {"month", 1, 12, month_names.data(), 12, 1, false},
    {"day-of-week", 0, 7, weekday_names.data(), 7, 0, true},
}};

tl::unexpected<parse_error> error(std::size_t column, std::string message) {
  return tl::unexpected(parse_error{std::move(message), column});
}

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// Parses one field's text, at `column` in the whole expression, into a bit set.
class field_parser {
 public:
  field_parser(const field_spec& spec, std::string_view text, std::size_t column)
      : spec_(spec), text_(text), column_(column) {}

  tl::expected<std::uint64_t, parse_error> parse() {
    std::uint64_t bits = 0;
    std::size_t start = 0;
    while (true) {
      std::size_t comma = text_.find(',', start);
      std::size_t end = comma == std::string_view::npos ? text_.size() : comma;
      auto item = parse_item(start, end);
      if (!item) return tl::unexpected(item.error());
      bits |= *item;
      if (comma == std::string_view::npos) return bits;
      start = comma + 1;
    }
  }

 private:
  tl::unexpected<parse_error> fail(std::size_t pos, std::string what) const {
    return error(column_ + pos, std::string(spec_.name) + ": " + what);
  }

  // One list item in [pos, end): `*`, `?`, N or A-B, optionally followed by /STEP.
  tl::expected<std::uint64_t, parse_error> parse_item(std::size_t pos, std::size_t end) {
    if (pos == end) return fail(pos, "empty list item");
    std::size_t p = pos;
    auto range = parse_range(p, end);
    if (!range) return tl::unexpected(range.error());
    auto [low, high, single] = *range;
    int step = 1;
    if (p < end && text_[p] == '/') {
      auto n = parse_step(++p, end);
      if (!n) return tl::unexpected(n.error());
      step = *n;
      if (single) high = spec_.max;  // N/STEP runs from N to the field's maximum
    }
    if (p < end) return fail(p, "unexpected " + in_quotes(text_.substr(p, end - p)));
    std::uint64_t bits = 0;
    for (int v = low; v <= high; v += step) {
      int bit = (spec_.max == 7 && v == 7) ? 0 : v;  // day-of-week 7 is Sunday, like 0
      bits |= std::uint64_t{1} << bit;
    }
    return bits;
  }

  struct range {
    int low;
    int high;
    bool single;  // written as one value N
  };

  // `*` or `?` (the whole field), N or A-B.
  tl::expected<range, parse_error> parse_range(std::size_t& p, std::size_t end) {
    std::size_t start = p;
    if (text_[p] == '?') {
      if (!spec_.allows_question)
        return fail(p, "\"?\" is only allowed in day-of-month and day-of-week");
      if (p + 1 < end)
        return fail(p + 1, "unexpected " + in_quotes(text_.substr(p + 1, end - p - 1)));
    }
    if (text_[p] == '*' || text_[p] == '?') {
      ++p;
      return range{spec_.min, spec_.max, false};
    }
    auto low = parse_value(p, end);
    if (!low) return tl::unexpected(low.error());
    if (p >= end || text_[p] != '-') return range{*low, *low, true};
    auto high = parse_value(++p, end);
    if (!high) return tl::unexpected(high.error());
    if (*low > *high) {
      return fail(start, "range " + in_quotes(text_.substr(start, p - start)) +
                             " goes backwards (" + std::to_string(*low) + " > " +
                             std::to_string(*high) + ")");
    }
    return range{*low, *high, false};
  }

  tl::expected<int, parse_error> parse_step(std::size_t& p, std::size_t end) {
    std::size_t start = p;
    if (p >= end || !std::isdigit(static_cast<unsigned char>(text_[p])))
      return fail(p, "expected a number after \"/\"");
    long v = read_number(p, end);
    if (v < 1) return fail(start, "step must be at least 1");
    if (v > 1000) {
      return fail(start, "step " + std::string(text_.substr(start, p - start)) + " is too large");
    }
    return int(v);
  }

  // Reads digits at p; saturates rather than overflowing (the caller reports the range).
  long read_number(std::size_t& p, std::size_t end) const {
    long v = 0;
    while (p < end && std::isdigit(static_cast<unsigned char>(text_[p]))) {
      if (v < 1000000) v = v * 10 + (text_[p] - '0');
      ++p;
    }
    return v;
  }

  // A number or, in the month and day-of-week fields, a three-letter name.
  tl::expected<int, parse_error> parse_value(std::size_t& p, std::size_t end) {
    std::size_t start = p;
    if (p < end && std::isdigit(static_cast<unsigned char>(text_[p]))) {
      long v = read_number(p, end);
      if (v < spec_.min || v > spec_.max) {
        return fail(start, std::string(text_.substr(start, p - start)) + " is out of range " +
                               std::to_string(spec_.min) + "-" + std::to_string(spec_.max));
      }
      return int(v);
    }
    if (p < end && std::isalpha(static_cast<unsigned char>(text_[p]))) {
      while (p < end && std::isalnum(static_cast<unsigned char>(text_[p]))) ++p;
      std::string_view word = text_.substr(start, p - start);
      if (spec_.names == nullptr) return fail(start, "expected a number, got " + in_quotes(word));
      for (int i = 0; i < spec_.names_count; ++i) {
        if (iequals(word, spec_.names[i])) return spec_.names_base + i;
      }
      return fail(start, "unknown name " + in_quotes(word));
    }
    if (p >= end) return fail(p, "missing a number after " + in_quotes(text_.substr(p - 1, 1)));
    return fail(p, "expected a number, got " + in_quotes(text_.substr(p, end - p)));
  }

  const field_spec& spec_;
  std::string_view text_;
  std::size_t column_;
};

struct token {
  std::string_view text;
  std::size_t column;
};

std::vector<token> split_fields(std::string_view text, std::size_t from) {
  std::vector<token> out;
  std::size_t i = from;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size()) break;
    std::size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    out.push_back({text.substr(start, i - start), start});
  }
  return out;
}

std::string month_list(std::uint16_t months) {
  std::vector<const char*> names;
  for (int m = 1; m <= 12; ++m) {
    if ((months >> m) & 1u) names.push_back(month_long_names[m - 1]);
  }
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

// With the AND day rule, some chosen day must exist in some chosen month (February has 29 days
// in leap years). With the OR rule every month has every weekday, so the schedule always fires.
bool can_fire(const schedule& s) {
  if (!s.day_star && !s.weekday_star) return true;
  for (int m = 1; m <= 12; ++m) {
    if (!((s.months >> m) & 1u)) continue;
    std::uint32_t possible = (std::uint32_t{2} << max_month_days[m]) - 2;  // bits 1..max
    if (s.days & possible) return true;
  }
  return false;
}

tl::expected<schedule, parse_error> parse_fields(std::string_view text, std::size_t from,
                                                 schedule s) {
  auto tokens = split_fields(text, from);
  if (tokens.empty()) return error(from, "empty schedule: expected 5 fields or a macro");
  if (tokens.size() != 5) {
    std::string message = "expected 5 fields, got " + std::to_string(tokens.size());
    if (tokens.size() == 6) message += " (a seconds field is not supported)";
    std::size_t column = tokens.size() > 5 ? tokens[5].column : text.size();
    if (tokens.size() < 5) message += " (minute hour day-of-month month day-of-week)";
    return error(column, std::move(message));
  }
  std::array<std::uint64_t, 5> bits{};
  for (std::size_t i = 0; i < 5; ++i) {
    auto b = field_parser(fields[i], tokens[i].text, tokens[i].column).parse();
    if (!b) return tl::unexpected(b.error());
    bits[i] = *b;
  }
  auto starred = [&](std::size_t i) {
    return tokens[i].text[0] == '*' || tokens[i].text[0] == '?';
  };
  s.minutes = bits[0];
  s.hours = std::uint32_t(bits[1]);
  s.days = std::uint32_t(bits[2]);
  s.months = std::uint16_t(bits[3]);
  s.weekdays = std::uint8_t(bits[4]);
  s.minute_star = starred(0);
  s.hour_star = starred(1);
  s.day_star = starred(2);
  s.weekday_star = starred(4);
  if (!can_fire(s)) {
    return error(tokens[2].column, "day-of-month: " + std::string(tokens[2].text) +
                                       " never occurs in " + month_list(s.months) +
                                       ", so the schedule never fires");
  }
  return s;
}

struct macro {
  const char* name;
  const char* expansion;
};
constexpr std::array<macro, 7> macros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

tl::expected<schedule, parse_error> parse_macro(std::string_view text, std::size_t from,
                                                schedule s) {
  auto tokens = split_fields(text, from);
  std::string_view word = tokens[0].text;
  for (const auto& m : macros) {
    if (!iequals(word, m.name)) continue;
    if (tokens.size() > 1) {
      return error(tokens[1].column, "unexpected " + in_quotes(tokens[1].text) + " after " +
                                         in_quotes(word) + " (a macro stands alone)");
    }
    auto expanded = parse_fields(m.expansion, 0, std::move(s));
    return expanded;
  }
  if (iequals(word, "@every")) {
    return error(from, "@every is not supported: write a 5-field schedule such as \"*/5 * * * *\"");
  }
  if (iequals(word, "@reboot")) return error(from, "@reboot is not supported");
  return error(from, "unknown macro " + in_quotes(word) +
                         " (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or "
                         "@hourly)");
}

}  // namespace

tl::expected<schedule, parse_error> parse_schedule(std::string_view text) {
  schedule s;
  std::size_t pos = 0;
  while (pos < text.size() && is_space(text[pos])) ++pos;
  // CRON_TZ=Zone / TZ=Zone prefix, as robfig/cron (Knative) accepts.
  for (std::string_view prefix : {std::string_view("CRON_TZ="), std::string_view("TZ=")}) {
    if (text.substr(pos, prefix.size()) != prefix) continue;
    std::size_t start = pos + prefix.size();
    std::size_t end = start;
    while (end < text.size() && !is_space(text[end])) ++end;
    if (end == start) return error(start, std::string(prefix) + " needs a time zone name");
    s.zone_name = std::string(text.substr(start, end - start));
    pos = end;
    while (pos < text.size() && is_space(text[pos])) ++pos;
    if (pos == text.size()) {
      return error(
          pos, "expected a schedule after " +
                   std::string(text.substr(start - prefix.size(), end - start + prefix.size())));
    }
    break;
  }
  if (pos < text.size() && text[pos] == '@') return parse_macro(text, pos, std::move(s));
  return parse_fields(text, pos, std::move(s));
}

namespace {

// The lowest set bit at or above `from`, or -1.
int next_bit(std::uint64_t mask, int from) {
  if (from >= 64) return -1;
  std::uint64_t m = mask >> from;
  return m == 0 ? -1 : from + std::countr_zero(m);
}

int days_in_month(int year, int month) {
  if (month != 2) return max_month_days[month];
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return leap ? 29 : 28;
}

int weekday_of(int year, int month, int day) {
  return int(chr::weekday{
      chr::local_days{chr::year{year} / chr::month(unsigned(month)) / chr::day(unsigned(day))}}
                 .c_encoding());
}

}  // namespace

namespace {

// A wall-clock minute, advanced field by field.
struct cursor {
  int year, month, day, hour, minute;

  void to_month(int m) {
    month = m;
    day = 1;
    hour = 0;
    minute = 0;
  }
  void next_month() {
    if (month == 12) {
      ++year;
      to_month(1);
    } else {
      to_month(month + 1);
    }
  }
  // May run past the month's end; the walk checks that first.
  void next_day() {
    ++day;
    hour = 0;
    minute = 0;
  }
  void next_hour() {
    minute = 0;
    if (++hour > 23) next_day();
  }
};

}  // namespace

std::optional<chr::local_seconds> next_match(const schedule& s, chr::local_seconds from) {
  civil_time start = to_civil(chr::ceil<chr::minutes>(from));
  cursor c{start.year, start.month, start.day, start.hour, start.minute};
  // Each step moves to the next candidate of the coarsest field that does not match, resetting
  // the finer ones, so the walk takes a few steps per month rather than one per minute.
  while (c.year <= 9999) {
    if (!((s.months >> c.month) & 1u)) {
      int next = next_bit(s.months, c.month + 1);
      if (next < 0 || next > 12) {
        next = next_bit(s.months, 1);
        if (next < 0 || next > 12) return std::nullopt;  // no month at all
        ++c.year;
      }
      c.to_month(next);
      continue;
    }
    if (c.day > days_in_month(c.year, c.month)) {
      c.next_month();
      continue;
    }
    if (!s.day_matches(c.day, weekday_of(c.year, c.month, c.day))) {
      c.next_day();
      continue;
    }
    if (!((s.hours >> c.hour) & 1u)) {
      int next = next_bit(s.hours, c.hour + 1);
      if (next < 0 || next > 23) {
        c.next_day();
        continue;
      }
      c.hour = next;
      c.minute = 0;
    }
    if (!((s.minutes >> c.minute) & 1u)) {
      int next = next_bit(s.minutes, c.minute + 1);
      if (next < 0 || next > 59) {
        c.next_hour();
        continue;
      }
      c.minute = next;
    }
    return from_civil(c.year, c.month, c.day, c.hour, c.minute);
  }
  return std::nullopt;
}

}  // namespace shfn::cron
