#include "event/http_binding.h"

#include <unordered_set>

#include "base/strings.h"
#include "event/json_format.h"
#include "event/text.h"
#include "event/trace.h"

namespace shfn::event {
namespace {

constexpr std::string_view header_prefix = "ce-";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 7230 quoted-string: "..." with backslash escapes; nullopt when unterminated.
std::optional<std::string> unquote(std::string_view v) {
  std::string out;
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] == '\\') {
      if (++i >= v.size()) return std::nullopt;
      out += v[i];
    } else if (v[i] == '"') {
      if (i + 1 != v.size()) return std::nullopt;
      return out;
    } else {
      out += v[i];
    }
  }
  return std::nullopt;
}

const std::string* find_header(const header_list& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return &v;
  }
  return nullptr;
}

event_result<std::optional<cloud_event>> some(cloud_event e) {
  return std::optional<cloud_event>(std::move(e));
}

// Every ce- header (and Content-Type) once at most.
event_result<void> check_duplicates(const header_list& headers) {
  std::unordered_set<std::string> seen;
  for (const auto& [name, value] : headers) {
    if (!istarts_with(name, header_prefix) && !iequals(name, "content-type")) continue;
    if (!seen.insert(ascii_lower(name)).second) {
      return fail_with(errc::invalid_event,
                       "header " + quote(ascii_lower(name)) + " appears twice");
    }
  }
  return {};
}

// Adopts the plain W3C headers when the event has no traceparent of its own.
void adopt_trace_headers(cloud_event& e, const header_list& headers) {
  if (attribute(e, traceparent_extension)) return;
  const auto* parent = find_header(headers, "traceparent");
  if (!parent || !is_valid_traceparent(trim(*parent))) return;
  (void)set_attribute(e, traceparent_extension, std::string(trim(*parent)));
  const auto* state = find_header(headers, "tracestate");
  if (state && !trim(*state).empty() && !string_problem(trim(*state))) {
    (void)set_attribute(e, tracestate_extension, std::string(trim(*state)));
  }
}

event_result<cloud_event> from_binary(const header_list& headers, byte_view body) {
  cloud_event e;
  e.specversion.clear();
  std::optional<std::string> ce_content_type;
  for (const auto& [name, raw] : headers) {
    if (iequals(name, "content-type")) {
      e.datacontenttype = std::string(trim(raw));
      continue;
    }
    if (!istarts_with(name, header_prefix)) continue;
    const std::string attr = ascii_lower(std::string_view(name).substr(header_prefix.size()));
    if (auto why = attribute_name_problem(attr)) {
      return fail_with(errc::invalid_event, *why + " (header " + quote(ascii_lower(name)) + ")");
    }
    auto value = decode_header_value(raw);
    if (!value) {
      return fail_with(errc::invalid_event, "header " + quote(ascii_lower(name)) +
                                                " has a value that does not decode: " + quote(raw) +
                                                " (bad quoting, percent-encoding or UTF-8)");
    }
    if (attr == "datacontenttype") {
      ce_content_type = std::move(*value);
    } else {
      add_unique_attribute(e, attr, std::move(*value));
    }
  }
  if (ce_content_type) {
    // The binding says Content-Type carries it and ce-datacontenttype must not be present;
    // tolerated when it agrees or stands alone.
    if (e.datacontenttype && *e.datacontenttype != *ce_content_type) {
      return fail_with(errc::invalid_event,
                       "conflicting datacontenttype: Content-Type is " + quote(*e.datacontenttype) +
                           " but ce-datacontenttype is " + quote(*ce_content_type));
    }
    e.datacontenttype = std::move(ce_content_type);
  }
  e.data.assign(body.begin(), body.end());
  e.has_data = !body.empty();
  adopt_trace_headers(e, headers);
  if (auto ok = validate(e); !ok) return tl::unexpected(ok.error());
  return e;
}

}  // namespace

std::string percent_encode_header_value(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x21 && c <= 0x7E && c != '"' && c != '%') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

std::optional<std::string> decode_header_value(std::string_view value) {
  value = trim(value);
  std::string unquoted;
  if (value.starts_with('"')) {
    auto u = unquote(value);
    if (!u) return std::nullopt;
    unquoted = std::move(*u);
    value = unquoted;
  }
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out += value[i];
      continue;
    }
    if (i + 2 >= value.size()) return std::nullopt;
    const int hi = hex_value(value[i + 1]);
    const int lo = hex_value(value[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (!is_utf8(out)) return std::nullopt;
  return out;
}

header_list to_http_headers(const cloud_event& e) {
  header_list out;
  for (auto [name, value] : attributes(e)) {
    if (name == "datacontenttype") {
      out.emplace_back("content-type", value);
    } else {
      out.emplace_back(std::string(header_prefix) + std::string(name),
                       percent_encode_header_value(value));
    }
  }
  for (auto name : {traceparent_extension, tracestate_extension}) {
    if (auto v = attribute(e, name)) out.emplace_back(name, percent_encode_header_value(*v));
  }
  return out;
}

http_message to_http(const cloud_event& e) {
  http_message out;
  if (e.datacontenttype && structured_format_of(*e.datacontenttype) != structured_format::none) {
    out.headers.emplace_back("content-type", json_media_type);
    const auto text = to_json(e);
    out.body.assign(text.begin(), text.end());
    return out;
  }
  out.headers = to_http_headers(e);
  if (e.has_data) out.body = e.data;
  return out;
}

event_result<std::optional<cloud_event>> from_http(const header_list& headers, byte_view body) {
  if (auto ok = check_duplicates(headers); !ok) return tl::unexpected(ok.error());
  const auto* content_type = find_header(headers, "content-type");
  const auto format = content_type ? structured_format_of(*content_type) : structured_format::none;
  if (format == structured_format::batch) {
    return fail_with(errc::unsupported_format, "batched CloudEvents (Content-Type " +
                                                   quote(*content_type) + ") are not supported");
  }
  if (format == structured_format::other) {
    return fail_with(errc::unsupported_format,
                     "unsupported CloudEvents format " + quote(*content_type) +
                         ": only application/cloudevents+json is supported");
  }
  if (format == structured_format::json) {
    auto e = from_json(as_chars(body));
    if (!e) return tl::unexpected(e.error());
    adopt_trace_headers(*e, headers);
    return some(std::move(*e));
  }
  if (find_header(headers, "ce-specversion")) {
    auto e = from_binary(headers, body);
    if (!e) return tl::unexpected(e.error());
    return some(std::move(*e));
  }
  bool any_ce = false;
  for (const auto& kv : headers) any_ce = any_ce || istarts_with(kv.first, header_prefix);
  if (!any_ce && body.empty()) return std::optional<cloud_event>();
  return fail_with(errc::not_a_cloud_event,
                   any_ce ? "not a CloudEvent: ce- headers but no ce-specversion"
                          : "not a CloudEvent: a body without a ce-specversion header, and "
                            "Content-Type is not application/cloudevents+json");
}

}  // namespace shfn::event
