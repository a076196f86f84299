#pragma once
// Internal to the admin API (admin*.cc): the shapes of its answers, and what its routes share.
// Errors are {"reason": "..."}, as Pulsar's are, so that pulsar-admin prints the reason.

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "http/http.h"

namespace shfn::broker {

// Topic and subscription names are bytes, not necessarily UTF-8: replaced, never thrown on.
inline std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline http::http_response json_response(int status, const nlohmann::json& body) {
  return {.status = status, .body = dump_json(body)};
}

inline http::http_response no_content() {
  return {.status = 204};
}

// What Pulsar answers for a policy that was never set: 200 with no body (pulsar-admin: "null").
inline http::http_response empty_ok() {
  return {.status = 200, .content_type = "", .body = ""};
}

inline http::http_response method_not_allowed(std::string allow) {
  http::http_response r = http::error_response(405, "method not allowed");
  r.fields.emplace_back("Allow", std::move(allow));
  return r;
}

// A request's JSON body; nullopt when it is not JSON.
inline std::optional<nlohmann::json> parse_body(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(trim(body, " \t\r\n"), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// A path segment that is a whole number ("12"); nullopt for anything else.
template <class Int>
std::optional<Int> path_number(std::string_view text) {
  Int n{};
  const char* end = text.data() + text.size();
  auto [at, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || at != end) return std::nullopt;
  return n;
}

// "host:port" of a "scheme://host:port" URL: how Pulsar names a broker.
inline std::string authority_of(const std::string& url) {
  const auto at = url.find("://");
  return at == std::string::npos ? url : url.substr(at + 3);
}

// Pulsar's times in the admin API: ISO 8601, UTC, milliseconds.
inline std::string iso8601_ms(std::uint64_t ms) {
  const auto at = std::chrono::sys_seconds(std::chrono::seconds(ms / 1000));
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", at, ms % 1000);
}

// A route of Pulsar's admin API that shfn does not serve: 501, naming it, so that it never
// reads as "your tenant does not exist".
http::http_response not_implemented(const http::http_request& r);
// A request shfn understands but would not honour (a value it has no mechanism for): 501 that
// says what, rather than accepting it and doing nothing.
http::http_response not_honoured(std::string what);

}  // namespace shfn::broker
