#include "http/http.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "http/http_text.h"

namespace shfn::http {

namespace {

using http_text::is_tchar;

class http_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "http"; }
  std::string message(int status) const override {
    switch (static_cast<http_errc>(status)) {
      case http_errc::bad_request:
        return "malformed HTTP request";
      case http_errc::content_too_large:
        return "request body too large";
      case http_errc::header_fields_too_large:
        return "request header fields too large";
      case http_errc::not_implemented:
        return "not implemented (request bodies need a Content-Length)";
      case http_errc::version_not_supported:
        return "HTTP version not supported";
    }
    return "HTTP status " + std::to_string(status);
  }
};

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 409:
      return "Conflict";
    case 408:
      return "Request Timeout";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_version(std::string_view v) {
  return v.size() == 8 && v.starts_with("HTTP/") &&
         std::isdigit(static_cast<unsigned char>(v[5])) && v[6] == '.' &&
         std::isdigit(static_cast<unsigned char>(v[7]));
}

// Splits the target into path segments and query parameters, percent-decoded.
result<void> parse_target(std::string_view target, http_request& r) {
  if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  std::string_view path = target;
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  auto segments = split(path.substr(1), '/');
  if (!segments.empty() && segments.back().empty()) segments.pop_back();  // "/metrics/"
  for (auto segment : segments) {
    auto decoded = percent_decode(segment, false);
    if (!decoded) return fail(http_errc::bad_request);
    r.path.push_back(std::move(*decoded));
  }
  auto params = parse_urlencoded(query);
  if (!params) return fail(http_errc::bad_request);
  r.query = std::move(*params);
  return {};
}

}  // namespace

std::optional<std::map<std::string, std::string>> parse_urlencoded(std::string_view text) {
  std::map<std::string, std::string> out;
  for (auto param : split(text, '&')) {
    if (param.empty()) continue;
    const auto eq = param.find('=');
    auto key = percent_decode(param.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : param.substr(eq + 1), true);
    if (!key || !value) return std::nullopt;
    out[*key] = std::move(*value);
  }
  return out;
}

const std::error_category& http_category() {
  static const http_category_impl category;
  return category;
}

std::size_t find_head_end(std::string_view data) {
  for (auto i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
    if (i + 1 < data.size() && data[i + 1] == '\n') return i + 2;
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

result<http_request> parse_request_head(std::string_view head, const http_limits& limits) {
  if (head.size() > limits.max_head) return fail(http_errc::header_fields_too_large);
  std::vector<std::string_view> lines;
  for (auto line : split(head, '\n')) {
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return fail(http_errc::bad_request);

  http_request r;
  const auto request_line = split(lines[0], ' ');
  if (request_line.size() != 3) return fail(http_errc::bad_request);
  const std::string_view method = request_line[0];
  const std::string_view target = request_line[1];
  const std::string_view version = request_line[2];
  if (method.empty() || method.size() > 32 || !std::ranges::all_of(method, is_tchar)) {
    return fail(http_errc::bad_request);
  }
  const auto visible = [](char c) { return static_cast<unsigned char>(c) > ' ' && c != 0x7f; };
  if (!target.starts_with('/') || !std::ranges::all_of(target, visible)) {
    return fail(http_errc::bad_request);
  }
  if (version == "HTTP/1.1") {
    r.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    r.minor_version = 0;
  } else if (is_version(version)) {
    return fail(http_errc::version_not_supported);
  } else {
    return fail(http_errc::bad_request);
  }
  r.method = method;
  r.target = target;

  bool has_length = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    // Empty lines end a head; folded (obsolete) lines are refused, as RFC 9112 allows.
    if (line.empty() || line.front() == ' ' || line.front() == '\t') {
      return fail(http_errc::bad_request);
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(http_errc::bad_request);
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (!std::ranges::all_of(name, is_tchar)) return fail(http_errc::bad_request);
    const auto control = [](char c) {
      return (static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f;
    };
    if (std::ranges::any_of(value, control)) return fail(http_errc::bad_request);
    std::string key = ascii_lower(name);
    if (key == "content-length") {
      if (value.empty() || !std::ranges::all_of(value, [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0;
          })) {
        return fail(http_errc::bad_request);
      }
      if (value.size() > 15) return fail(http_errc::content_too_large);
      const auto length = static_cast<std::size_t>(std::stoull(std::string(value)));
      if (has_length && length != r.content_length) return fail(http_errc::bad_request);
      has_length = true;
      r.content_length = length;
    }
    auto [it, added] = r.fields.emplace(std::move(key), value);
    if (!added && it->first != "content-length") {
      it->second += ", ";
      it->second += value;
    }
  }
  if (r.fields.contains("transfer-encoding")) return fail(http_errc::not_implemented);
  if (r.content_length > limits.max_body) return fail(http_errc::content_too_large);

  bool close = false;
  bool keep_alive = false;
  if (auto it = r.fields.find("connection"); it != r.fields.end()) {
    for (auto token : split(it->second, ',')) {
      const std::string t = ascii_lower(trim(token));
      close = close || t == "close";
      keep_alive = keep_alive || t == "keep-alive";
    }
  }
  r.keep_alive = !close && (r.minor_version == 1 || keep_alive);
  if (auto it = r.fields.find("expect"); it != r.fields.end()) {
    r.expect_continue = ascii_lower(it->second) == "100-continue";
  }
  if (auto ok = parse_target(target, r); !ok) return fail(ok.error());
  return r;
}

std::string serialize(const http_response& response, bool keep_alive) {
  std::string out =
      fmt::format("HTTP/1.1 {} {}\r\n", response.status, reason_phrase(response.status));
  const bool has_body = response.status >= 200 && response.status != 204 && response.status != 304;
  if (has_body && !response.content_type.empty()) {
    out += fmt::format("Content-Type: {}\r\n", response.content_type);
  }
  if (has_body) out += fmt::format("Content-Length: {}\r\n", response.body.size());
  for (const auto& [name, value] : response.fields) out += fmt::format("{}: {}\r\n", name, value);
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (has_body) out += response.body;
  return out;
}

http_response error_response(int status, std::string_view reason) {
  const nlohmann::json body = {{"reason", reason}};
  // Reasons can quote names a client sent, which are bytes, not necessarily UTF-8.
  return {.status = status,
          .body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

std::optional<std::string_view> bearer_token(const http_request& request) {
  auto field = request.fields.find("authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (field == request.fields.end() || !field->second.starts_with(scheme)) return std::nullopt;
  return std::string_view(field->second).substr(scheme.size());
}

}  // namespace shfn::http
