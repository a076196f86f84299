// The admin API's schema routes (admin_schemas.h).
#include "broker/admin_schemas.h"

#include <nlohmann/json.hpp>
#include <string>

#include "base/log.h"
#include "broker/admin_responses.h"
#include "broker/broker.h"
#include "broker/registry.h"

namespace shfn::broker {

using json = nlohmann::json;
using http::error_response;
using http::http_request;
using http::http_response;

namespace {

// Pulsar's GetSchemaResponse. The definition is text for every type shfn's clients send.
json schema_response(const stored_schema& s) {
  return {{"version", s.version},
          {"type", s.definition.type},
          {"timestamp", s.timestamp_ms},
          {"data", s.definition.data},
          {"properties", s.definition.properties}};
}

// Pulsar's PostSchemaPayload: {"type", "schema", "properties"}.
std::optional<schema::definition> posted_definition(const std::string& body) {
  const auto j = parse_body(body);
  if (!j || !j->is_object() || !j->contains("type") || !(*j)["type"].is_string()) {
    return std::nullopt;
  }
  schema::definition d{.type = (*j)["type"].get<std::string>(), .data = j->value("schema", "")};
  if (j->contains("properties") && (*j)["properties"].is_object()) {
    for (const auto& [k, v] : (*j)["properties"].items()) {
      if (v.is_string()) d.properties[k] = v.get<std::string>();
    }
  }
  return d;
}

http_response refusal_response(const schema_refusal& r) {
  switch (r.why) {
    case schema_refusal::reason::invalid:
      return error_response(422, r.message);
    case schema_refusal::reason::storage:
      return error_response(500, r.message);
    default:
      return error_response(409, r.message);
  }
}

class schema_api {
 public:
  schema_api(broker& b, const http_request& r)
      : broker_(b), registry_(b.context().schemas), r_(r) {}

  std::optional<http_response> route() {
    const auto& p = r_.path;  // admin v2 schemas tenant ns topic action [version]
    if (p.size() < 7 || p.size() > 8) return std::nullopt;
    auto t = wire::parse_topic_name("persistent://" + p[3] + "/" + p[4] + "/" + p[5]);
    if (!t) return error_response(400, "Invalid topic name: " + p[5]);
    t->partition = -1;  // a partition's schema is its topic's
    if (!broker_.topics().admits(*t)) return error_response(404, "Namespace not found");
    const std::string& action = p[6];
    if (action == "schema" && p.size() == 8) return one_version(*t, p[7]);
    if (p.size() != 7) return std::nullopt;
    if (action == "schema") return schema(*t);
    if (action == "schemas") return all_versions(*t);
    if (action == "compatibility") return compatibility(*t);
    if (action == "version") return version_of(*t);
    return std::nullopt;
  }

 private:
  http_response schema(const wire::topic_name& t) {
    if (r_.method == "GET") {
      auto latest = registry_.latest(t);
      if (!latest) return refusal_response(latest.error());
      if (!*latest) return error_response(404, "Schema not found");
      return json_response(200, schema_response(**latest));
    }
    if (r_.method == "POST") return upload(t);
    if (r_.method == "DELETE") return remove(t);
    return method_not_allowed("GET, POST, DELETE");
  }

  http_response one_version(const wire::topic_name& t, const std::string& number) {
    if (r_.method != "GET") return method_not_allowed("GET");
    const auto version = path_number<std::int64_t>(number);
    if (!version) return error_response(400, "Invalid schema version: " + number);
    auto live = registry_.live_history(t);
    if (!live) return refusal_response(live.error());
    for (const auto& s : *live) {
      if (s.version == *version) return json_response(200, schema_response(s));
    }
    return error_response(404, "Schema not found");
  }

  http_response all_versions(const wire::topic_name& t) {
    if (r_.method != "GET") return method_not_allowed("GET");
    auto live = registry_.live_history(t);
    if (!live) return refusal_response(live.error());
    json listed = json::array();
    for (const auto& s : *live) listed.push_back(schema_response(s));
    return json_response(200, {{"getSchemaResponses", listed}});
  }

  // An operator's upload is not held back by isAllowAutoUpdateSchema, as in Pulsar.
  http_response upload(const wire::topic_name& t) {
    const auto d = posted_definition(r_.body);
    if (!d) return error_response(400, R"(The body is {"type", "schema", "properties"})");
    if (auto bad = schema::invalid(*d)) {
      return error_response(422,
                            "Invalid schema definition data for " + d->type + " schema: " + *bad);
    }
    auto live = registry_.live_history(t);
    if (!live) return refusal_response(live.error());
    if (live->empty() && (d->type == "BYTES" || d->type == "NONE")) {
      return error_response(406,
                            "Do not upload a BYTES schema, because it's the default schema type");
    }
    schema_policy policy = schema_policy_of(broker_.context().tenants, t);
    policy.allow_auto_update = true;
    auto version = registry_.put(t, *d, policy);
    if (!version) return refusal_response(version.error());
    spdlog::info("admin: schema of {}: version {} ({})", t.base(), *version, d->type);
    return json_response(200, {{"version", {{"version", *version}}}});
  }

  http_response remove(const wire::topic_name& t) {
    const auto force = r_.query.find("force");
    if (force != r_.query.end() && force->second == "true") {
      if (auto dropped = registry_.drop(t); !dropped) {
        return error_response(500, dropped.error().message());
      }
      spdlog::info("admin: schemas of {} removed", t.base());
      return json_response(200, {{"version", -1}});
    }
    auto marker = registry_.remove(t);
    if (!marker) return refusal_response(marker.error());
    spdlog::info("admin: schema of {} deleted (version {})", t.base(), *marker);
    return json_response(200, {{"version", *marker}});
  }

  // Pulsar answers an incompatible schema with the error its check throws, as a 500.
  http_response compatibility(const wire::topic_name& t) {
    if (r_.method != "POST") return method_not_allowed("POST");
    const auto d = posted_definition(r_.body);
    if (!d) return error_response(400, R"(The body is {"type", "schema", "properties"})");
    const auto strategy = schema_policy_of(broker_.context().tenants, t).strategy;
    if (auto refused = registry_.check(t, *d, strategy)) {
      return error_response(refused->why == schema_refusal::reason::invalid ? 422 : 500,
                            refused->message);
    }
    return json_response(
        202, {{"compatibility", true}, {"schemaCompatibilityStrategy", schema::name_of(strategy)}});
  }

  http_response version_of(const wire::topic_name& t) {
    if (r_.method != "POST") return method_not_allowed("POST");
    const auto d = posted_definition(r_.body);
    if (!d) return error_response(400, R"(The body is {"type", "schema", "properties"})");
    auto live = registry_.live_history(t);
    if (!live) return refusal_response(live.error());
    for (const auto& s : *live) {
      if (s.definition.type == d->type && s.definition.data == d->data) {
        return json_response(200, {{"version", s.version}});
      }
    }
    return json_response(200, {{"version", -1}});
  }

  broker& broker_;
  schema_registry& registry_;
  const http_request& r_;
};

}  // namespace

std::optional<http_response> schema_routes(broker& b, const http_request& r) {
  if (r.path.size() < 3 || r.path[2] != "schemas") return std::nullopt;
  return schema_api(b, r).route();
}

}  // namespace shfn::broker
