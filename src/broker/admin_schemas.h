#pragma once
// Internal to the admin API (admin.cc): Pulsar's schema routes, over the broker's schema
// registry (schema_registry.h). A topic's schemas are shared by its partitions and both domains.
//
// clang-format off
//   GET    /admin/v2/schemas/{tenant}/{ns}/{topic}/schema            the latest: GetSchemaResponse
//   GET    /admin/v2/schemas/{tenant}/{ns}/{topic}/schema/{version}  one version
//   GET    /admin/v2/schemas/{tenant}/{ns}/{topic}/schemas           {"getSchemaResponses": [...]}
//   POST   /admin/v2/schemas/{tenant}/{ns}/{topic}/schema            upload: {"version": {"version"}}
//   DELETE /admin/v2/schemas/{tenant}/{ns}/{topic}/schema[?force=]   {"version": N} (-1 with force)
//   POST   /admin/v2/schemas/{tenant}/{ns}/{topic}/compatibility     202 {"compatibility": true, ...}
//   POST   /admin/v2/schemas/{tenant}/{ns}/{topic}/version           {"version": N} (-1: none)
// clang-format on
//
// Answers as Pulsar's: an incompatible upload is 409, an invalid one 422, an incompatible
// schema asked about is 500 with the reason (Pulsar's check throws rather than answering false),
// and only the versions since the last deletion are found.

#include <optional>

#include "http/http.h"

namespace shfn::broker {

class broker;

// The answer when the request's path is one of the routes above; nullopt otherwise.
std::optional<http::http_response> schema_routes(broker& b, const http::http_request& r);

}  // namespace shfn::broker
