#include "event/json_format.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "event/text.h"

namespace shfn::event {
namespace {

using json = nlohmann::json;
constexpr auto npos = std::string_view::npos;

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t skip_ws(std::string_view s, std::size_t i) {
  while (i < s.size() && is_ws(s[i])) ++i;
  return i;
}

std::string_view trim_json_ws(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

// One past the closing quote of the string that starts at s[i], or npos.
std::size_t skip_string(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return npos;
}

// One past the end of the JSON value that starts at s[i], or npos. This only finds where a value
// ends (brackets balanced outside strings); nlohmann checks the value itself afterwards.
std::size_t skip_value(std::string_view s, std::size_t i) {
  if (i >= s.size()) return npos;
  const char first = s[i];
  if (first == '"') return skip_string(s, i);
  if (first == '{' || first == '[') {
    std::size_t depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        if (i == npos) return npos;
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
      ++i;
    }
    return npos;
  }
  if (std::string_view("-0123456789tfn").find(first) == npos) return npos;
  while (i < s.size() && !is_ws(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
  return i;
}

struct member {
  std::string name;
  std::string_view raw;  // the value's text
  std::size_t offset;    // where the value starts in the document
};

tl::unexpected<error> bad_json(std::string_view what, std::size_t offset) {
  return fail_with(errc::invalid_json,
                   "structured CloudEvent is not valid JSON: " + std::string(what) + " at byte " +
                       std::to_string(offset));
}

// The top-level object's members with their values' text, in document order.
event_result<std::vector<member>> split_object(std::string_view text) {
  // JSON never holds a raw NUL (not even in a string), and nlohmann's parser takes one for the
  // end of its input, so "1\0garbage" would pass for "1": refuse it before anything is parsed.
  if (const auto nul = text.find('\0'); nul != npos) return bad_json("unexpected NUL byte", nul);
  std::size_t i = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // a byte order mark may be ignored
  i = skip_ws(text, i);
  if (i >= text.size() || text[i] != '{') return bad_json("expected a JSON object", i);
  std::vector<member> members;
  i = skip_ws(text, i + 1);
  if (i < text.size() && text[i] == '}') {
    ++i;
  } else {
    while (true) {
      if (i >= text.size() || text[i] != '"') return bad_json("expected a member name", i);
      const std::size_t name_end = skip_string(text, i);
      if (name_end == npos) return bad_json("unterminated string", i);
      const json name = json::parse(text.substr(i, name_end - i), nullptr, false);
      if (!name.is_string()) return bad_json("invalid member name", i);
      i = skip_ws(text, name_end);
      if (i >= text.size() || text[i] != ':') return bad_json("expected ':'", i);
      i = skip_ws(text, i + 1);
      const std::size_t value_end = skip_value(text, i);
      if (value_end == npos) return bad_json("invalid value", i);
      members.push_back({name.get<std::string>(), text.substr(i, value_end - i), i});
      i = skip_ws(text, value_end);
      if (i < text.size() && text[i] == ',') {
        i = skip_ws(text, i + 1);
        continue;
      }
      if (i < text.size() && text[i] == '}') {
        ++i;
        break;
      }
      return bad_json("expected ',' or '}'", i);
    }
  }
  i = skip_ws(text, i);
  if (i != text.size()) return bad_json("unexpected text after the object", i);
  return members;
}

const char* json_type_name(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_number_float()) return "a non-integer number";
  if (v.is_number()) return "an integer outside the 32-bit range";
  return "a value of another type";
}

// An attribute's JSON value as its canonical string; nullopt (and no error) for null.
event_result<std::optional<std::string>> attribute_text(const std::string& name, const json& v) {
  if (v.is_null()) return std::optional<std::string>();
  if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
  if (is_context_attribute(name)) {
    return fail_with(errc::invalid_event, "attribute " + quote(name) + " must be a JSON string");
  }
  if (v.is_boolean()) return std::optional<std::string>(v.get<bool>() ? "true" : "false");
  if (v.is_number_integer()) {
    // CloudEvents Integers are 32-bit; is_number_integer covers both signed and unsigned.
    const bool in_range =
        v.is_number_unsigned()
            ? v.get<std::uint64_t>() <= std::uint64_t{std::numeric_limits<std::int32_t>::max()}
            : (v.get<std::int64_t>() >= std::numeric_limits<std::int32_t>::min() &&
               v.get<std::int64_t>() <= std::numeric_limits<std::int32_t>::max());
    if (in_range) return std::optional<std::string>(v.dump());
  }
  return fail_with(errc::invalid_event, "extension " + quote(name) +
                                            " must be a string, a boolean or an integer, not " +
                                            json_type_name(v));
}

// text/*, */xml, */*+xml, or any type that names its charset: data that is text.
bool is_text_content_type(const std::optional<std::string>& content_type) {
  if (!content_type) return false;
  const auto type = media_type(*content_type);
  if (type.starts_with("text/") || type.ends_with("/xml") || type.ends_with("+xml")) return true;
  std::string lowered(*content_type);
  for (auto& c : lowered) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return lowered.find("charset=") != std::string::npos;
}

// Whether `data` can stand as the `data` member's value: valid JSON, no byte order mark (which
// nlohmann skips but a JSON document cannot hold mid-way) and no NUL (which nlohmann takes for
// the end of input, so it would accept "1\0garbage").
bool is_embeddable_json(std::string_view data) {
  return !data.starts_with("\xEF\xBB\xBF") && data.find('\0') == npos &&
         json::accept(data.begin(), data.end());
}

std::string json_string(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Sets the event's data from the `data` member's text.
event_result<void> read_data(cloud_event& e, const member& m) {
  if (is_json_content_type(e.datacontenttype)) {
    if (!json::accept(m.raw.begin(), m.raw.end()))
      return bad_json("invalid \"data\" value", m.offset);
    if (!e.datacontenttype) e.datacontenttype = "application/json";
    e.data.assign(m.raw.begin(), m.raw.end());
    e.has_data = true;
    return {};
  }
  const json v = json::parse(m.raw.begin(), m.raw.end(), nullptr, false);
  if (v.is_discarded()) return bad_json("invalid \"data\" value", m.offset);
  if (v.is_null()) return {};
  if (!v.is_string()) {
    return fail_with(errc::invalid_event, "data must be a JSON string when datacontenttype " +
                                              quote(*e.datacontenttype) +
                                              " is not JSON (binary data goes in data_base64)");
  }
  const auto& text = v.get_ref<const std::string&>();
  e.data.assign(text.begin(), text.end());
  e.has_data = true;
  return {};
}

}  // namespace

std::string to_json(const cloud_event& e) {
  std::string out = "{";
  auto add = [&](std::string_view name, std::string_view value_json) {
    if (out.size() > 1) out += ',';
    out += json_string(name);
    out += ':';
    out += value_json;
  };
  for (auto [name, value] : attributes(e)) add(name, json_string(value));
  if (e.has_data) {
    const auto text = as_chars(e.data);
    const auto trimmed = trim_json_ws(text);
    if (is_json_content_type(e.datacontenttype) && is_embeddable_json(trimmed)) {
      add("data", trimmed);
    } else if (is_text_content_type(e.datacontenttype) && is_utf8(text)) {
      add("data", json_string(text));
    } else {
      add("data_base64", "\"" + base64_encode(e.data) + "\"");
    }
  }
  out += '}';
  return out;
}

structured_format structured_format_of(std::string_view content_type) {
  constexpr std::string_view prefix = "application/cloudevents";
  content_type = trim(content_type);
  if (!istarts_with(content_type, prefix)) return structured_format::none;
  const auto rest = content_type.substr(prefix.size());
  auto ends_type = [](std::string_view r) { return r.empty() || r[0] == ';' || r[0] == ' '; };
  if (istarts_with(rest, "-batch")) return structured_format::batch;
  if (ends_type(rest) || (istarts_with(rest, "+json") && ends_type(rest.substr(5)))) {
    return structured_format::json;
  }
  return structured_format::other;
}

event_result<cloud_event> from_json(std::string_view text) {
  auto members = split_object(text);
  if (!members) return tl::unexpected(members.error());
  cloud_event e;
  e.specversion.clear();  // so that a document without one is reported as missing it
  const member* data = nullptr;
  const member* data_base64 = nullptr;
  std::unordered_set<std::string_view> seen;
  for (const member& m : *members) {
    if (!seen.insert(m.name).second) {
      return fail_with(errc::invalid_event, "member " + quote(m.name) + " appears twice");
    }
    if (m.name == "data") {
      data = &m;
      continue;
    }
    if (m.name == "data_base64") {
      data_base64 = &m;
      continue;
    }
    if (auto why = attribute_name_problem(m.name)) return fail_with(errc::invalid_event, *why);
    const json v = json::parse(m.raw.begin(), m.raw.end(), nullptr, false);
    if (v.is_discarded()) return bad_json("invalid value of " + quote(m.name), m.offset);
    auto value = attribute_text(m.name, v);
    if (!value) return tl::unexpected(value.error());
    if (*value) add_unique_attribute(e, m.name, std::move(**value));
  }
  if (data && data_base64) {
    return fail_with(errc::invalid_event, "both \"data\" and \"data_base64\" are present");
  }
  if (data_base64) {
    const json v = json::parse(data_base64->raw.begin(), data_base64->raw.end(), nullptr, false);
    if (v.is_discarded()) return bad_json("invalid \"data_base64\" value", data_base64->offset);
    if (!v.is_null()) {
      if (!v.is_string())
        return fail_with(errc::invalid_event, "data_base64 must be a JSON string");
      auto decoded = base64_decode(v.get_ref<const std::string&>());
      if (!decoded) return fail_with(errc::invalid_event, "data_base64 is not valid Base64");
      e.data = std::move(*decoded);
      e.has_data = true;
    }
  } else if (data) {
    if (auto ok = read_data(e, *data); !ok) return tl::unexpected(ok.error());
  }
  if (auto ok = validate(e); !ok) return tl::unexpected(ok.error());
  return e;
}

}  // namespace shfn::event
