#include "event/event.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <unordered_set>

#include "event/text.h"

namespace shfn::event {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986: unreserved, gen-delims, sub-delims; '%' is checked separately.
bool is_uri_char(char c) {
  static constexpr std::string_view others = "-._~:/?#[]@!$&'()*+,;=";
  return is_alpha(c) || is_digit(c) || others.find(c) != std::string_view::npos;
}

// Every character allowed in a URI, and every '%' followed by two hex digits.
bool is_uri_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      i += 2;
    } else if (!is_uri_char(s[i])) {
      return false;
    }
  }
  return true;
}

bool is_uri_reference(std::string_view s) {
  return is_uri_text(s) && std::count(s.begin(), s.end(), '#') <= 1;
}

bool is_absolute_uri(std::string_view s) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(s[0])) return false;
  for (char c : s.substr(0, colon)) {
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return is_uri_reference(s);
}

// RFC 2045 token characters.
bool is_token_char(char c) {
  static constexpr std::string_view tspecials = "()<>@,;:\\\"/[]?=";
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7F && tspecials.find(c) == std::string_view::npos;
}

// type "/" subtype, optionally followed by parameters (";" ...), which are not picked apart.
bool is_media_type(std::string_view s) {
  s = trim(s);
  std::size_t i = 0;
  while (i < s.size() && is_token_char(s[i])) ++i;
  if (i == 0 || i == s.size() || s[i] != '/') return false;
  const std::size_t subtype = ++i;
  while (i < s.size() && is_token_char(s[i])) ++i;
  if (i == subtype) return false;
  const auto rest = trim(s.substr(i));
  return rest.empty() || rest.front() == ';';
}

struct timestamp {
  int year, month, day, hour, minute, second;
  std::string_view fraction;  // digits after the '.', maybe empty
  int offset_minutes;         // east of UTC
};

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static constexpr std::array<int, 12> days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[static_cast<std::size_t>(m - 1)];
}

bool read_number(std::string_view s, std::size_t& at, std::size_t digits, int& out) {
  if (at + digits > s.size()) return false;
  out = 0;
  for (std::size_t k = 0; k < digits; ++k) {
    if (!is_digit(s[at + k])) return false;
    out = out * 10 + (s[at + k] - '0');
  }
  at += digits;
  return true;
}

bool expect(std::string_view s, std::size_t& at, char c) {
  if (at >= s.size() || s[at] != c) return false;
  ++at;
  return true;
}

std::optional<timestamp> parse_rfc3339(std::string_view s) {
  timestamp t{};
  std::size_t at = 0;
  if (!read_number(s, at, 4, t.year) || !expect(s, at, '-') || !read_number(s, at, 2, t.month) ||
      !expect(s, at, '-') || !read_number(s, at, 2, t.day)) {
    return std::nullopt;
  }
  if (at >= s.size() || (s[at] != 'T' && s[at] != 't')) return std::nullopt;
  ++at;
  if (!read_number(s, at, 2, t.hour) || !expect(s, at, ':') || !read_number(s, at, 2, t.minute) ||
      !expect(s, at, ':') || !read_number(s, at, 2, t.second)) {
    return std::nullopt;
  }
  if (at < s.size() && s[at] == '.') {
    const std::size_t start = ++at;
    while (at < s.size() && is_digit(s[at])) ++at;
    if (at == start) return std::nullopt;
    t.fraction = s.substr(start, at - start);
  }
  if (at >= s.size()) return std::nullopt;
  if (s[at] == 'Z' || s[at] == 'z') {
    ++at;
    t.offset_minutes = 0;
  } else if (s[at] == '+' || s[at] == '-') {
    const int sign = s[at] == '-' ? -1 : 1;
    ++at;
    int hours = 0;
    int minutes = 0;
    if (!read_number(s, at, 2, hours) || !expect(s, at, ':') || !read_number(s, at, 2, minutes) ||
        hours > 23 || minutes > 59) {
      return std::nullopt;
    }
    t.offset_minutes = sign * (hours * 60 + minutes);
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > days_in_month(t.year, t.month) ||
      t.hour > 23 || t.minute > 59 || t.second > 60) {
    return std::nullopt;
  }
  return t;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy =
      (153 * static_cast<unsigned>(m > 2 ? m - 3 : m + 9) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

// "YYYY-MM-DDTHH:MM:SS" of a second count since the epoch; nullopt outside years 0000-9999.
std::optional<std::string> format_seconds(std::int64_t seconds) {
  const std::int64_t days = floor_div(seconds, 86400);
  const std::int64_t in_day = seconds - days * 86400;
  std::int64_t year = 0;
  int month = 0;
  int day = 0;
  civil_from_days(days, year, month, day);
  if (year < 0 || year > 9999) return std::nullopt;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", static_cast<int>(year), month,
                day, static_cast<int>(in_day / 3600), static_cast<int>(in_day / 60 % 60),
                static_cast<int>(in_day % 60));
  return std::string(buf);
}

event_result<void> invalid(std::string message) {
  return fail_with(errc::invalid_event, std::move(message));
}

}  // namespace

bool is_context_attribute(std::string_view name) {
  return std::find(std::begin(context_attribute_names), std::end(context_attribute_names), name) !=
         std::end(context_attribute_names);
}

bool is_valid_attribute_name(std::string_view name) {
  return !attribute_name_problem(name);
}

std::optional<std::string> attribute_name_problem(std::string_view name) {
  if (name == "data") {
    return "invalid attribute name \"data\": the name is reserved for the event data";
  }
  const bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || is_digit(c);
  });
  if (ok) return std::nullopt;
  return "invalid attribute name " + quote(name) +
         ": names are lower-case letters (a-z) and digits (0-9)";
}

std::optional<std::string> attribute_value_problem(std::string_view name, std::string_view value) {
  // Runs for every attribute of every event: nothing is built unless there is a problem.
  const auto quoted_name = [name] { return "\"" + std::string(name) + "\""; };
  if (value.empty()) {
    const bool required =
        name == "specversion" || name == "id" || name == "source" || name == "type";
    if (required) return "missing required attribute " + quoted_name();
    return "attribute " + quoted_name() + " is empty";
  }
  if (name == "specversion" && value != spec_version) {
    return "unsupported specversion " + quote(value) + ": only \"1.0\" is supported";
  }
  if (auto why = string_problem(value)) return "attribute " + quoted_name() + " " + *why;
  if (name == "source" && !is_uri_reference(value)) {
    return "source " + quote(value) + " is not a URI-reference";
  }
  if (name == "dataschema" && !is_absolute_uri(value)) {
    return "dataschema " + quote(value) + " is not an absolute URI";
  }
  if (name == "datacontenttype" && !is_media_type(value)) {
    return "datacontenttype " + quote(value) + " is not a media type (type/subtype)";
  }
  if (name == "time" && !is_rfc3339(value)) {
    return "time " + quote(value) + " is not an RFC 3339 timestamp";
  }
  return std::nullopt;
}

event_result<void> validate(const cloud_event& e) {
  // The required attributes first, so that an event missing one says so before anything else.
  for (std::string_view name : {"specversion", "id", "source", "type"}) {
    if (auto why = attribute_value_problem(name, *attribute(e, name))) return invalid(*why);
  }
  std::unordered_set<std::string_view> seen;
  for (const auto& [name, value] : e.extensions) {
    if (auto why = attribute_name_problem(name)) return invalid(*why);
    if (is_context_attribute(name)) {
      return invalid("extension " + quote(name) + " has the name of a context attribute");
    }
    if (!seen.insert(name).second) return invalid("attribute " + quote(name) + " is set twice");
  }
  for (auto [name, value] : attributes(e)) {
    if (auto why = attribute_value_problem(name, value)) return invalid(*why);
  }
  return {};
}

std::optional<std::string_view> attribute(const cloud_event& e, std::string_view name) {
  auto optional = [](const std::optional<std::string>& v) -> std::optional<std::string_view> {
    if (v) return std::string_view(*v);
    return std::nullopt;
  };
  if (name == "specversion") return e.specversion;
  if (name == "id") return e.id;
  if (name == "source") return e.source;
  if (name == "type") return e.type;
  if (name == "datacontenttype") return optional(e.datacontenttype);
  if (name == "dataschema") return optional(e.dataschema);
  if (name == "subject") return optional(e.subject);
  if (name == "time") return optional(e.time);
  for (const auto& [n, v] : e.extensions) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

event_result<void> set_attribute(cloud_event& e, std::string_view name, std::string value) {
  if (auto why = attribute_name_problem(name)) return invalid(*why);
  if (name == "specversion") {
    e.specversion = std::move(value);
  } else if (name == "id") {
    e.id = std::move(value);
  } else if (name == "source") {
    e.source = std::move(value);
  } else if (name == "type") {
    e.type = std::move(value);
  } else if (name == "datacontenttype") {
    e.datacontenttype = std::move(value);
  } else if (name == "dataschema") {
    e.dataschema = std::move(value);
  } else if (name == "subject") {
    e.subject = std::move(value);
  } else if (name == "time") {
    e.time = std::move(value);
  } else {
    auto it = std::find_if(e.extensions.begin(), e.extensions.end(),
                           [&](const auto& kv) { return kv.first == name; });
    if (it != e.extensions.end()) {
      it->second = std::move(value);
    } else {
      e.extensions.emplace_back(std::string(name), std::move(value));
    }
  }
  return {};
}

void add_unique_attribute(cloud_event& e, std::string_view name, std::string value) {
  if (is_context_attribute(name)) {
    (void)set_attribute(e, name, std::move(value));
  } else {
    e.extensions.emplace_back(std::string(name), std::move(value));
  }
}

bool remove_attribute(cloud_event& e, std::string_view name) {
  auto reset = [](std::optional<std::string>& v) {
    const bool was = v.has_value();
    v.reset();
    return was;
  };
  if (name == "datacontenttype") return reset(e.datacontenttype);
  if (name == "dataschema") return reset(e.dataschema);
  if (name == "subject") return reset(e.subject);
  if (name == "time") return reset(e.time);
  if (is_context_attribute(name)) return false;  // required
  return std::erase_if(e.extensions, [&](const auto& kv) { return kv.first == name; }) > 0;
}

std::vector<std::pair<std::string_view, std::string_view>> attributes(const cloud_event& e) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  out.reserve(8 + e.extensions.size());
  for (std::string_view name : context_attribute_names) {
    if (auto v = attribute(e, name)) out.emplace_back(name, *v);
  }
  for (const auto& [n, v] : e.extensions) out.emplace_back(n, v);
  return out;
}

bool is_rfc3339(std::string_view text) {
  return parse_rfc3339(text).has_value();
}

std::optional<std::string> to_utc_rfc3339(std::string_view text) {
  const auto t = parse_rfc3339(text);
  if (!t || t->second == 60) return std::nullopt;
  const std::int64_t seconds = days_from_civil(t->year, t->month, t->day) * 86400 + t->hour * 3600 +
                               t->minute * 60 + t->second - std::int64_t{t->offset_minutes} * 60;
  auto out = format_seconds(seconds);
  if (!out) return std::nullopt;
  std::string_view fraction = t->fraction.substr(0, 9);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  if (!fraction.empty()) *out += "." + std::string(fraction);
  *out += 'Z';
  return out;
}

std::string format_time_ms(std::int64_t ms_since_epoch) {
  const std::int64_t seconds = floor_div(ms_since_epoch, 1000);
  const auto ms = static_cast<int>(ms_since_epoch - seconds * 1000);
  auto text = format_seconds(seconds).value_or("1970-01-01T00:00:00");
  char buf[8];
  std::snprintf(buf, sizeof buf, ".%03dZ", ms);
  return text + buf;
}

std::string media_type(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  const auto type = trim(content_type.substr(0, semicolon));
  std::string out(type);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
  return out;
}

bool is_json_content_type(const std::optional<std::string>& content_type) {
  if (!content_type) return true;
  const auto type = media_type(*content_type);
  const auto slash = type.find('/');
  if (slash == std::string::npos) return false;
  const std::string_view subtype = std::string_view(type).substr(slash + 1);
  return subtype == "json" || subtype.ends_with("+json");
}

}  // namespace shfn::event
