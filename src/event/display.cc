#include "event/display.h"

#include <algorithm>
#include <vector>

namespace shfn::event {
namespace {

// U+2601 CLOUD, U+FE0F emoji presentation, two spaces: event-display's header.
constexpr std::string_view header = "\xE2\x98\x81\xEF\xB8\x8F  cloudevents.Event\n";
constexpr std::size_t max_depth = 10000;  // Go's encoding/json limit

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// One past the end of the string at s[i] == '"', or npos. Like Go's scanner: control characters
// and unknown escapes are errors, bytes that are not UTF-8 are not.
std::size_t scan_string(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c < 0x20) return std::string_view::npos;
    if (c != '\\') continue;
    if (++i >= s.size()) return std::string_view::npos;
    if (s[i] == 'u') {
      for (int k = 0; k < 4; ++k) {
        if (++i >= s.size() || !is_hex(s[i])) return std::string_view::npos;
      }
    } else if (std::string_view("\"\\/bfnrt").find(s[i]) == std::string_view::npos) {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

std::size_t scan_digits(std::string_view s, std::size_t i) {
  while (i < s.size() && is_digit(s[i])) ++i;
  return i;
}

// One past the end of the number or literal at s[i], or npos.
std::size_t scan_scalar(std::string_view s, std::size_t i) {
  for (std::string_view literal : {"true", "false", "null"}) {
    if (s.substr(i).starts_with(literal)) return i + literal.size();
  }
  std::size_t j = i;
  if (j < s.size() && s[j] == '-') ++j;
  if (j < s.size() && s[j] == '0') {
    ++j;
  } else if (j < s.size() && is_digit(s[j])) {
    j = scan_digits(s, j);
  } else {
    return std::string_view::npos;
  }
  if (j < s.size() && s[j] == '.') {
    if (++j >= s.size() || !is_digit(s[j])) return std::string_view::npos;
    j = scan_digits(s, j);
  }
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    ++j;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    if (j >= s.size() || !is_digit(s[j])) return std::string_view::npos;
    j = scan_digits(s, j);
  }
  return j;
}

enum class state {
  value,
  first_value_or_close,
  key,
  first_key_or_close,
  colon,
  comma_or_close,
  done
};

// Go's media type for a data content type: up to ';' and trimmed, case kept.
std::string_view go_media_type(std::string_view ct) {
  const auto semicolon = ct.find(';');
  if (semicolon == std::string_view::npos) return ct;
  ct = ct.substr(0, semicolon);
  while (!ct.empty() && is_ws(ct.front())) ct.remove_prefix(1);
  while (!ct.empty() && is_ws(ct.back())) ct.remove_suffix(1);
  return ct;
}

}  // namespace

std::optional<std::string> go_json_indent(std::string_view src, std::string_view prefix,
                                          std::string_view indent) {
  std::string out;
  out.reserve(src.size() * 2);
  std::vector<char> stack;  // open '{' and '['
  state st = state::value;
  bool need_indent = false;  // an opening bracket waits to see whether its container is empty
  std::size_t depth = 0;
  auto newline = [&] {
    out += '\n';
    out += prefix;
    for (std::size_t d = 0; d < depth; ++d) out += indent;
  };
  auto after_value = [&] { st = stack.empty() ? state::done : state::comma_or_close; };
  for (std::size_t i = 0; i < src.size();) {
    const char c = src[i];
    if (is_ws(c)) {
      if (st == state::done) out += c;  // Go keeps whitespace after the top-level value
      ++i;
      continue;
    }
    const bool closes = c == '}' || c == ']';
    if (need_indent && !closes) {
      need_indent = false;
      ++depth;
      newline();
    }
    const bool wants_value = st == state::value || (st == state::first_value_or_close && c != ']');
    if (c == '{' || c == '[') {
      if (!wants_value || stack.size() >= max_depth) return std::nullopt;
      stack.push_back(c);
      out += c;
      need_indent = true;
      st = c == '{' ? state::first_key_or_close : state::first_value_or_close;
      ++i;
    } else if (closes) {
      const char open = c == '}' ? '{' : '[';
      const bool may_close =
          (c == '}' && (st == state::first_key_or_close || st == state::comma_or_close)) ||
          (c == ']' && (st == state::first_value_or_close || st == state::comma_or_close));
      if (!may_close || stack.empty() || stack.back() != open) return std::nullopt;
      stack.pop_back();
      if (need_indent) {
        need_indent = false;
      } else {
        --depth;
        newline();
      }
      out += c;
      after_value();
      ++i;
    } else if (c == ',') {
      if (st != state::comma_or_close) return std::nullopt;
      st = stack.back() == '{' ? state::key : state::value;
      out += c;
      newline();
      ++i;
    } else if (c == ':') {
      if (st != state::colon) return std::nullopt;
      st = state::value;
      out += ": ";
      ++i;
    } else if (c == '"') {
      const bool is_key = st == state::key || st == state::first_key_or_close;
      if (!is_key && !wants_value) return std::nullopt;
      const auto end = scan_string(src, i);
      if (end == std::string_view::npos) return std::nullopt;
      out.append(src.substr(i, end - i));
      i = end;
      if (is_key) {
        st = state::colon;
      } else {
        after_value();
      }
    } else {
      if (!wants_value) return std::nullopt;
      const auto end = scan_scalar(src, i);
      if (end == std::string_view::npos) return std::nullopt;
      out.append(src.substr(i, end - i));
      i = end;
      after_value();
    }
  }
  if (st != state::done) return std::nullopt;
  return out;
}

std::string display(const cloud_event& e) {
  std::string out(header);
  out += "Context Attributes,\n";
  auto line = [&](std::string_view name, std::string_view value) {
    out += "  ";
    out += name;
    out += ": ";
    out += value;
    out += '\n';
  };
  line("specversion", e.specversion);
  line("type", e.type);
  line("source", e.source);
  if (e.subject) line("subject", *e.subject);
  line("id", e.id);
  if (e.time) line("time", to_utc_rfc3339(*e.time).value_or(*e.time));
  if (e.dataschema) line("dataschema", *e.dataschema);
  if (e.datacontenttype) line("datacontenttype", *e.datacontenttype);
  if (!e.extensions.empty()) {
    out += "Extensions,\n";
    std::vector<const std::pair<std::string, std::string>*> sorted;
    for (const auto& kv : e.extensions) sorted.push_back(&kv);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (const auto* kv : sorted) line(kv->first, kv->second);
  }
  if (e.has_data) {
    out += "Data,\n  ";
    const auto data = as_chars(e.data);
    std::optional<std::string> pretty;
    if (e.datacontenttype && go_media_type(*e.datacontenttype) == "application/json") {
      pretty = go_json_indent(data, "  ", "  ");
    }
    out += pretty ? std::string_view(*pretty) : data;
    out += '\n';
  }
  return out;
}

}  // namespace shfn::event
