#pragma once
// Internal to the admin API (admin.cc): Pulsar's routes for tenants, namespaces and their
// policies, clusters and brokers, over the broker's tenancy (tenancy.h).
//
// clang-format off
//   GET                 /admin/v2/tenants                                  tenant names
//   GET|PUT|POST|DELETE /admin/v2/tenants/{tenant}                         TenantInfo
//   GET                 /admin/v2/namespaces/{tenant}                      "tenant/ns" names
//   GET|PUT|DELETE      /admin/v2/namespaces/{tenant}/{ns}                 policies
//   GET                 /admin/v2/namespaces/{tenant}/{ns}/topics          every topic in it
//   GET|POST|DELETE     /admin/v2/namespaces/{tenant}/{ns}/{policy}        retention, messageTTL,
//                                                                          deduplication,
//                                                                          autoTopicCreation,
//                                                                          isAllowAutoUpdateSchema,
//                                                                          schemaValidationEnforced
//   GET|PUT|DELETE      /admin/v2/namespaces/{tenant}/{ns}/{policy}        schemaCompatibilityStrategy,
//                                                          schemaAutoUpdateCompatibilityStrategy
//   GET                 /admin/v2/clusters, /admin/v2/clusters/standalone
//   GET                 /admin/v2/brokers/standalone, /admin/v2/brokers/leaderBroker
// clang-format on
//
// A policy value the broker would not honour is refused with 501 naming it: deduplication off,
// partitioned auto-creation.

#include <optional>

#include "http/http.h"

namespace shfn::broker {

class broker;

// The answer when the request's path is one of the routes above; nullopt otherwise.
std::optional<http::http_response> tenancy_routes(broker& b, const http::http_request& r);

}  // namespace shfn::broker
