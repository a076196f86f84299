#pragma once
// Internal to the admin API (admin.cc, admin_tenancy.cc): the shapes of its answers. Errors are
// {"reason": "..."}, as Pulsar's are, so that pulsar-admin prints the reason.

#include <nlohmann/json.hpp>
#include <string>

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

// A route of Pulsar's admin API that shfn does not serve: 501, naming it, so that it never
// reads as "your tenant does not exist".
http::http_response not_implemented(const http::http_request& r);
// A request shfn understands but would not honour (a value it has no mechanism for): 501 that
// says what, rather than accepting it and doing nothing.
http::http_response not_honoured(std::string what);

}  // namespace shfn::broker
