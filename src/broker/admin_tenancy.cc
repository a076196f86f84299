// Tenants, namespaces, policies, clusters and brokers for the admin API (admin_tenancy.h).
#include "broker/admin_tenancy.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

#include "base/log.h"
#include "base/strings.h"
#include "broker/admin_responses.h"
#include "broker/broker.h"
#include "broker/registry.h"
#include "broker/tenancy.h"
#include "schema/compatibility.h"
#include "wire/topic_name.h"

namespace shfn::broker {

using json = nlohmann::json;
using http::error_response;
using http::http_request;
using http::http_response;

namespace {

http_response error_of(std::error_code ec) {
  if (ec.category() != tenancy_category()) return error_response(500, ec.message());
  switch (static_cast<tenancy_errc>(ec.value())) {
    case tenancy_errc::tenant_exists:
    case tenancy_errc::tenant_not_empty:
    case tenancy_errc::namespace_exists:
      return error_response(409, ec.message());
    case tenancy_errc::tenant_not_found:
    case tenancy_errc::namespace_not_found:
      return error_response(404, ec.message());
    case tenancy_errc::bad_name:
      return error_response(412, ec.message());
    case tenancy_errc::corrupt_file:
      break;
  }
  return error_response(500, ec.message());
}

// Why a policy value is refused: malformed (400), out of its range (412, as Pulsar answers), or
// not honoured by this broker (501).
struct refusal {
  int status;
  std::string why;
};

refusal malformed(std::string why) {
  return {.status = 400, .why = std::move(why)};
}

refusal out_of_range(std::string why) {
  return {.status = 412, .why = std::move(why)};
}

refusal unhonoured(std::string why) {
  return {.status = 501, .why = std::move(why)};
}

std::optional<refusal> retention_refusal(const json& v) {
  if (!v.is_object() || !v.contains("retentionTimeInMinutes") ||
      !v["retentionTimeInMinutes"].is_number_integer() || !v.contains("retentionSizeInMB") ||
      !v["retentionSizeInMB"].is_number_integer()) {
    return malformed(R"(retention is {"retentionTimeInMinutes": N, "retentionSizeInMB": N})");
  }
  const auto minutes = v["retentionTimeInMinutes"].get<long long>();
  const auto megabytes = v["retentionSizeInMB"].get<long long>();
  if (minutes < -1 || megabytes < -1) return malformed("retention limits are -1 or more");
  return std::nullopt;
}

std::optional<refusal> message_ttl_refusal(const json& v) {
  if (!v.is_number_integer() || v.get<long long>() < 0) {
    return malformed("a message TTL is a number of seconds");
  }
  return std::nullopt;
}

std::optional<refusal> deduplication_refusal(const json& v) {
  if (!v.is_boolean()) return malformed("deduplication is true or false");
  if (!v.get<bool>()) {
    return unhonoured(
        "turning deduplication off: it always deduplicates by producer name and "
        "sequence id");
  }
  return std::nullopt;
}

std::optional<refusal> auto_topic_creation_refusal(const json& v) {
  if (!v.is_object() || !v.contains("allowAutoTopicCreation") ||
      !v["allowAutoTopicCreation"].is_boolean()) {
    return malformed(R"(autoTopicCreation is {"allowAutoTopicCreation": true|false, ...})");
  }
  const bool partitioned = v.value("topicType", "non-partitioned") != "non-partitioned";
  if (v["allowAutoTopicCreation"].get<bool>() && partitioned) {
    return unhonoured("creating partitioned topics automatically (topicType partitioned)");
  }
  return std::nullopt;
}

std::optional<refusal> schema_compatibility_refusal(const json& v) {
  if (!v.is_string() ||
      (v.get<std::string>() != "UNDEFINED" && !schema::strategy_named(v.get<std::string>()))) {
    return malformed(
        "a schema compatibility strategy is UNDEFINED, ALWAYS_INCOMPATIBLE, ALWAYS_COMPATIBLE, "
        "BACKWARD, FORWARD, FULL, BACKWARD_TRANSITIVE, FORWARD_TRANSITIVE or FULL_TRANSITIVE");
  }
  return std::nullopt;
}

std::optional<refusal> schema_auto_update_refusal(const json& v) {
  if (!v.is_string() || !schema::strategy_of_auto_update(v.get<std::string>())) {
    return malformed(
        "a schema auto-update strategy is AutoUpdateDisabled, Backward, Forward, Full, "
        "AlwaysCompatible, BackwardTransitive, ForwardTransitive or FullTransitive");
  }
  return std::nullopt;
}

std::optional<refusal> compaction_threshold_refusal(const json& v) {
  if (!v.is_number_integer()) return malformed("compactionThreshold is a number of bytes");
  if (v.get<long long>() < 0) return out_of_range("compactionThreshold must be 0 or more");
  return std::nullopt;
}

std::optional<refusal> boolean_refusal(const json& v) {
  if (!v.is_boolean()) return malformed("the value is true or false");
  return std::nullopt;
}

// A namespace policy: its path segment, its name in Pulsar's policies document, which values
// the broker refuses, the method that sets it, and what a GET answers while it is not set (no
// body when empty).
struct policy_route {
  std::string_view segment;
  std::string_view name;
  std::optional<refusal> (*refuses)(const json& value);
  std::string_view setter = "POST";
  std::string_view unset = "";
};

constexpr policy_route policy_routes[] = {
    {"retention", "retention_policies", retention_refusal},
    {"messageTTL", "message_ttl_in_seconds", message_ttl_refusal},
    {"deduplication", "deduplicationEnabled", deduplication_refusal},
    {"autoTopicCreation", "autoTopicCreationOverride", auto_topic_creation_refusal},
    {"schemaCompatibilityStrategy", "schema_compatibility_strategy", schema_compatibility_refusal,
     "PUT", R"("UNDEFINED")"},
    {"schemaAutoUpdateCompatibilityStrategy", "schema_auto_update_compatibility_strategy",
     schema_auto_update_refusal, "PUT"},
    {"isAllowAutoUpdateSchema", "is_allow_auto_update_schema", boolean_refusal, "POST", "true"},
    {"schemaValidationEnforced", "schema_validation_enforced", boolean_refusal, "POST", "false"},
    {"compactionThreshold", "compaction_threshold", compaction_threshold_refusal, "PUT"},
};

http_response response_to(const refusal& r) {
  if (r.status == 501) return not_honoured(r.why);
  return error_response(r.status, r.status == 400 ? "Invalid value: " + r.why : r.why);
}

class tenancy_api {
 public:
  explicit tenancy_api(broker& b) : broker_(b), tenants_(b.context().tenants) {}

  std::optional<http_response> route(const http_request& r) {
    const auto& p = r.path;  // admin, v2, ...
    if (p[2] == "tenants") return tenants(r);
    if (p[2] == "namespaces" && p.size() >= 4) return namespaces(r);
    if (p[2] == "clusters") return clusters(r);
    if (p[2] == "brokers" && p.size() == 4) return brokers(r);
    if (p[2] == "brokers" && p.size() == 5 && p[3] == "configuration" && p[4] == "runtime") {
      return runtime_configuration(r);
    }
    return std::nullopt;
  }

 private:
  // ---------------------------------------------------------------------------- tenants

  std::optional<http_response> tenants(const http_request& r) {
    const auto& p = r.path;
    if (p.size() == 3) {
      if (r.method != "GET") return method_not_allowed("GET");
      return json_response(200, tenants_.tenants());
    }
    if (p.size() != 4) return std::nullopt;
    const std::string& name = p[3];
    if (r.method == "GET") {
      const tenant_info* info = tenants_.tenant(name);
      if (info == nullptr) return error_response(404, "Tenant does not exist");
      return json_response(
          200, {{"adminRoles", info->admin_roles}, {"allowedClusters", info->allowed_clusters}});
    }
    if (r.method == "PUT" || r.method == "POST") {
      if (r.method == "PUT" && !wire::valid_entity_name(name)) {
        return error_response(412, "Tenant name is not valid");
      }
      auto info = tenant_info_of(r.body);
      if (!info) return std::move(info.error());
      auto done = r.method == "PUT" ? tenants_.create_tenant(name, std::move(*info))
                                    : tenants_.update_tenant(name, std::move(*info));
      if (!done) return error_of(done.error());
      spdlog::info("admin: {} tenant {}", r.method == "PUT" ? "created" : "updated", name);
      return no_content();
    }
    if (r.method == "DELETE") {
      if (r.query.contains("force") && ascii_lower(r.query.at("force")) == "true") {
        return not_honoured("deleting a tenant with force=true; delete its namespaces first");
      }
      if (auto done = tenants_.remove_tenant(name); !done) return error_of(done.error());
      spdlog::info("admin: deleted tenant {}", name);
      return no_content();
    }
    return method_not_allowed("GET, PUT, POST, DELETE");
  }

  // The TenantInfo in a request's body, or the answer that refuses it.
  static tl::expected<tenant_info, http_response> tenant_info_of(const std::string& body) {
    tenant_info info;
    if (trim(body, " \t\r\n").empty()) return info;
    auto j = parse_body(body);
    if (!j || !j->is_object()) return tl::unexpected(error_response(400, "Invalid TenantInfo"));
    try {
      if (j->contains("adminRoles")) {
        info.admin_roles = (*j)["adminRoles"].get<std::vector<std::string>>();
      }
      if (j->contains("allowedClusters")) {
        info.allowed_clusters = (*j)["allowedClusters"].get<std::vector<std::string>>();
      }
    } catch (const json::exception&) {
      return tl::unexpected(error_response(400, "Invalid TenantInfo"));
    }
    for (const auto& cluster : info.allowed_clusters) {
      if (cluster != cluster_name) {
        return tl::unexpected(error_response(412, "Clusters do not exist"));
      }
    }
    return info;
  }

  // ---------------------------------------------------------------------------- namespaces

  std::optional<http_response> namespaces(const http_request& r) {
    const auto& p = r.path;
    const std::string& tenant = p[3];
    if (p.size() == 4) {
      if (r.method != "GET") return method_not_allowed("GET");
      auto names = tenants_.namespaces(tenant);
      if (!names) return error_response(404, "Tenant not found");
      return json_response(200, *names);
    }
    const std::string& ns = p[4];
    if (p.size() == 5) return one_namespace(r, tenant, ns);
    if (p.size() != 6) return std::nullopt;
    if (!tenants_.has_namespace(tenant, ns)) {
      return error_response(404, "Namespace does not exist");
    }
    if (p[5] == "topics") {
      if (r.method != "GET") return method_not_allowed("GET");
      return json_response(200, topics_in(r, tenant, ns));
    }
    for (const auto& route : policy_routes) {
      if (p[5] == route.segment) return policy(r, tenant, ns, route);
    }
    return std::nullopt;
  }

  http_response one_namespace(const http_request& r, const std::string& tenant,
                              const std::string& ns) {
    if (r.method == "GET") {
      auto doc = tenants_.policies(tenant, ns);
      if (!doc) return error_of(doc.error());
      return json_response(200, *doc);
    }
    if (r.method == "PUT") {
      if (tenants_.tenant(tenant) == nullptr) return error_response(404, "Tenant does not exist");
      if (!wire::valid_entity_name(ns)) return error_response(412, "Namespace name is not valid");
      if (auto refused = unhonoured_create_policies(r.body)) return std::move(*refused);
      if (auto done = tenants_.create_namespace(tenant, ns); !done) {
        return error_of(done.error());
      }
      spdlog::info("admin: created namespace {}/{}", tenant, ns);
      return no_content();
    }
    if (r.method == "DELETE") {
      if (!tenants_.has_namespace(tenant, ns)) {
        return error_response(404, fmt::format("Namespace {}/{} does not exist.", tenant, ns));
      }
      if (!empty(tenant, ns)) return error_response(409, "Cannot delete non empty namespace");
      if (auto done = tenants_.remove_namespace(tenant, ns); !done) {
        return error_of(done.error());
      }
      spdlog::info("admin: deleted namespace {}/{}", tenant, ns);
      return no_content();
    }
    return method_not_allowed("GET, PUT, DELETE");
  }

  // `namespaces create` sends a whole policies document; the policies in it that differ from
  // a new namespace's would be ignored, so they are refused.
  static std::optional<http_response> unhonoured_create_policies(const std::string& body) {
    if (trim(body, " \t\r\n").empty()) return std::nullopt;
    auto j = parse_body(body);
    if (!j || !j->is_object()) return error_response(400, "Invalid policies");
    const json defaults = tenancy::default_policies();
    std::string differing;
    for (const auto& [key, value] : j->items()) {
      // Empty stands for the default (replication_clusters: [] is the local cluster).
      const bool as_new = value.is_null() || value.empty() || key == "bundles" ||
                          (defaults.contains(key) && defaults[key] == value);
      if (!as_new) differing += (differing.empty() ? "" : ", ") + key;
    }
    if (differing.empty()) return std::nullopt;
    return not_honoured("policies given when creating a namespace (" + differing +
                        "); create it, then set them one by one");
  }

  bool empty(const std::string& tenant, const std::string& ns) const {
    auto& topics = broker_.topics();
    if (!topics.list(tenant, ns).empty()) return false;
    return topics.partitioned(true, tenant, ns).empty() &&
           topics.partitioned(false, tenant, ns).empty();
  }

  // Pulsar lists persistent topics unless asked for another mode.
  json topics_in(const http_request& r, const std::string& tenant, const std::string& ns) {
    auto mode = r.query.contains("mode") ? r.query.at("mode") : std::string("PERSISTENT");
    json names = json::array();
    for (const bool persistent : {true, false}) {
      if (mode != "ALL" && (mode == "PERSISTENT") != persistent) continue;
      for (auto& name : broker_.topics().list_domain(persistent, tenant, ns)) {
        names.push_back(std::move(name));
      }
    }
    return names;
  }

  http_response policy(const http_request& r, const std::string& tenant, const std::string& ns,
                       const policy_route& route) {
    const std::string name(route.name);
    if (r.method == "GET") {
      auto value = tenants_.policy(tenant, ns, name);
      if (value) return json_response(200, *value);
      if (route.unset.empty()) return empty_ok();
      return json_response(200, json::parse(route.unset));
    }
    if (r.method == route.setter) {
      auto value = parse_body(r.body);
      if (!value) return error_response(400, "Invalid JSON body");
      if (auto refused = route.refuses(*value)) return response_to(*refused);
      if (auto done = tenants_.set_policy(tenant, ns, name, *value); !done) {
        return error_of(done.error());
      }
      spdlog::info("admin: namespace {}/{}: {} set to {}", tenant, ns, name, value->dump());
      return no_content();
    }
    if (r.method == "DELETE") {
      if (auto done = tenants_.set_policy(tenant, ns, name, nullptr); !done) {
        return error_of(done.error());
      }
      spdlog::info("admin: namespace {}/{}: {} removed", tenant, ns, name);
      return no_content();
    }
    return method_not_allowed("GET, " + std::string(route.setter) + ", DELETE");
  }

  // ---------------------------------------------------------------------------- the cluster

  std::optional<http_response> clusters(const http_request& r) {
    const auto& p = r.path;
    if (p.size() > 4) return std::nullopt;
    if (r.method != "GET") return method_not_allowed("GET");
    if (p.size() == 3) return json_response(200, json::array({std::string(cluster_name)}));
    if (p[3] != cluster_name) return error_response(404, "Cluster does not exist");
    return json_response(200, {{"serviceUrl", broker_.admin_url()},
                               {"brokerServiceUrl", broker_.service_url()},
                               {"brokerClientTlsEnabled", false},
                               {"tlsAllowInsecureConnection", false},
                               {"brokerClientTlsEnabledWithKeyStore", false},
                               {"brokerClientTlsTrustStoreType", "JKS"},
                               {"brokerClientTlsKeyStoreType", "JKS"},
                               {"brokerClientSslFactoryPlugin",
                                "org.apache.pulsar.common.util.DefaultPulsarSslFactory"}});
  }

  std::optional<http_response> brokers(const http_request& r) {
    const std::string& what = r.path[3];
    if (r.method != "GET") return method_not_allowed("GET");
    const std::string id = authority_of(broker_.admin_url());
    if (what == "leaderBroker") {
      return json_response(200, {{"serviceUrl", broker_.admin_url()}, {"brokerId", id}});
    }
    if (what == cluster_name) return json_response(200, json::array({id}));
    return error_response(404, "Cluster does not exist");
  }

  // Pulsar answers with all of its ~540 settings as strings; pulsar-admin reads clusterName
  // (`clusters list`), and these are the ones this broker has an answer for.
  http_response runtime_configuration(const http_request& r) {
    if (r.method != "GET") return method_not_allowed("GET");
    const auto& options = broker_.context().options;
    const auto port_of = [](const std::string& url) {
      const std::string authority = authority_of(url);
      return "Optional[" + authority.substr(authority.rfind(':') + 1) + "]";
    };
    return json_response(
        200, {{"clusterName", std::string(cluster_name)},
              {"brokerServicePort", port_of(broker_.service_url())},
              {"webServicePort", port_of(broker_.admin_url())},
              {"allowAutoTopicCreation", "true"},
              {"allowAutoTopicCreationType", "non-partitioned"},
              {"brokerDeduplicationEnabled", "true"},
              {"defaultRetentionTimeInMinutes",
               std::to_string(
                   std::chrono::duration_cast<std::chrono::minutes>(options.retention).count())},
              {"authenticationEnabled", options.token_secret_file.empty() ? "false" : "true"},
              {"maxMessageSize", std::to_string(options.max_message_size)}});
  }

  broker& broker_;
  tenancy& tenants_;
};

}  // namespace

std::optional<http_response> tenancy_routes(broker& b, const http_request& r) {
  return tenancy_api(b).route(r);
}

}  // namespace shfn::broker
