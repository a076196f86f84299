#include "broker/schema_registry.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/base64.h"
#include "base/clock.h"
#include "broker/tenancy.h"
#include "storage/file.h"
#include "storage/layout.h"

namespace shfn::broker {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

schema_refusal storage_failure(const fs::path& file, const std::string& what) {
  return {schema_refusal::reason::storage, "schema registry file " + file.string() + ": " + what};
}

json to_json(const stored_schema& s) {
  return {{"version", s.version},
          {"type", s.definition.type},
          {"data", base64_encode(as_bytes(s.definition.data))},
          {"properties", s.definition.properties},
          {"timestamp", s.timestamp_ms},
          {"deleted", s.deleted}};
}

std::optional<stored_schema> from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  const auto data = base64_decode(j.value("data", ""));
  if (!data || !j.contains("version") || !j["version"].is_number_integer()) return std::nullopt;
  stored_schema s{.version = j["version"].get<std::int64_t>(),
                  .definition = {.type = j.value("type", ""), .data = std::string(as_chars(*data))},
                  .timestamp_ms = j.value("timestamp", std::int64_t{0}),
                  .deleted = j.value("deleted", false)};
  if (j.contains("properties") && j["properties"].is_object()) {
    for (const auto& [k, v] : j["properties"].items()) {
      if (v.is_string()) s.definition.properties[k] = v.get<std::string>();
    }
  }
  return s;
}

}  // namespace

schema_policy schema_policy_of(const tenancy& tenants, const wire::topic_name& t) {
  schema_policy p;
  const auto named = [&](const char* policy, auto lookup) -> std::optional<schema::strategy> {
    const auto value = tenants.policy(t.tenant, t.ns, policy);
    if (!value || !value->is_string()) return std::nullopt;
    return lookup(value->get<std::string>());
  };
  // UNDEFINED (or unset) falls back to the deprecated auto-update policy, then the default.
  if (auto s = named("schema_compatibility_strategy", schema::strategy_named)) {
    p.strategy = *s;
  } else if (auto old = named("schema_auto_update_compatibility_strategy",
                              schema::strategy_of_auto_update)) {
    p.strategy = *old;
  }
  const auto auto_update = tenants.policy(t.tenant, t.ns, "is_allow_auto_update_schema");
  if (auto_update && auto_update->is_boolean()) p.allow_auto_update = auto_update->get<bool>();
  return p;
}

bool schema_validation_enforced(const tenancy& tenants, const wire::topic_name& t) {
  const auto enforced = tenants.policy(t.tenant, t.ns, "schema_validation_enforced");
  return enforced && enforced->is_boolean() && enforced->get<bool>();
}

std::string schema_registry::schema_id(const wire::topic_name& t) {
  return t.tenant + "/" + t.ns + "/" + t.local;
}

tl::expected<schema_registry::versions*, schema_refusal> schema_registry::load(
    const wire::topic_name& t) {
  const std::string id = schema_id(t);
  if (auto it = cache_.find(id); it != cache_.end()) return &it->second;
  versions loaded;
  if (!data_dir_.empty()) {
    const fs::path file = storage::schema_file(data_dir_, t);
    std::ifstream in(file, std::ios::binary);
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      const json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.contains("versions") || !j["versions"].is_array()) {
        return tl::unexpected(storage_failure(file, "not a schema history"));
      }
      for (const auto& v : j["versions"]) {
        auto s = from_json(v);
        if (!s) return tl::unexpected(storage_failure(file, "a version cannot be read"));
        loaded.push_back(std::move(*s));
      }
    }
  }
  return &cache_.emplace(id, std::move(loaded)).first->second;
}

std::optional<schema_refusal> schema_registry::store(const wire::topic_name& t, const versions& v) {
  if (data_dir_.empty()) return std::nullopt;
  const fs::path file = storage::schema_file(data_dir_, t);
  json all = json::array();
  for (const auto& s : v) all.push_back(to_json(s));
  if (auto made = storage::create_directory_durably(file.parent_path()); !made) {
    return storage_failure(file.parent_path(), made.error().message());
  }
  const std::string text = json{{"versions", all}}.dump();
  if (auto written = storage::replace_file_durably(file, as_bytes(text)); !written) {
    return storage_failure(file, written.error().message());
  }
  return std::nullopt;
}

schema_registry::versions::const_iterator schema_registry::live_begin(const versions& v) {
  return std::find_if(v.rbegin(), v.rend(), [](const auto& s) { return s.deleted; }).base();
}

tl::expected<std::vector<stored_schema>, schema_refusal> schema_registry::history(
    const wire::topic_name& t) {
  auto v = load(t);
  if (!v) return tl::unexpected(v.error());
  return **v;
}

tl::expected<std::vector<stored_schema>, schema_refusal> schema_registry::live_history(
    const wire::topic_name& t) {
  auto v = load(t);
  if (!v) return tl::unexpected(v.error());
  return versions(live_begin(**v), (*v)->cend());
}

tl::expected<std::optional<stored_schema>, schema_refusal> schema_registry::latest(
    const wire::topic_name& t) {
  auto v = load(t);
  if (!v) return tl::unexpected(v.error());
  if ((*v)->empty() || (*v)->back().deleted) return std::nullopt;
  return (*v)->back();
}

tl::expected<std::optional<stored_schema>, schema_refusal> schema_registry::at(
    const wire::topic_name& t, std::int64_t version) {
  auto v = load(t);
  if (!v) return tl::unexpected(v.error());
  for (const auto& s : **v) {
    if (s.version == version && !s.deleted) return s;
  }
  return std::nullopt;
}

tl::expected<std::int64_t, schema_refusal> schema_registry::put(const wire::topic_name& t,
                                                                const schema::definition& d,
                                                                const schema_policy& policy) {
  auto v = load(t);
  if (!v) return tl::unexpected(v.error());
  versions& all = **v;
  // An equal live version is the answer, whatever the strategy.
  for (auto it = live_begin(all); it != all.cend(); ++it) {
    if (schema::same_schema(it->definition, d)) return it->version;
  }
  if (!policy.allow_auto_update) {
    return tl::unexpected(schema_refusal{schema_refusal::reason::not_found,
                                         "Schema not found and schema auto updating is disabled."});
  }
  if (auto refused = check(t, d, policy.strategy)) return tl::unexpected(*refused);
  const stored_schema added{.version = all.empty() ? 0 : all.back().version + 1,
                            .definition = d,
                            .timestamp_ms = now_ms()};
  all.push_back(added);
  if (auto failed = store(t, all)) {
    all.pop_back();
    return tl::unexpected(*failed);
  }
  return added.version;
}

std::optional<schema_refusal> schema_registry::check(const wire::topic_name& t,
                                                     const schema::definition& d,
                                                     schema::strategy s) {
  if (auto bad = schema::invalid(d)) return schema_refusal{schema_refusal::reason::invalid, *bad};
  auto v = load(t);
  if (!v) return v.error();
  std::vector<schema::definition> existing;
  for (auto it = live_begin(**v); it != (*v)->cend(); ++it) existing.push_back(it->definition);
  if (auto why = schema::incompatibility(d, existing, s)) {
    return schema_refusal{schema_refusal::reason::incompatible, *why};
  }
  return std::nullopt;
}

std::optional<schema_refusal> schema_registry::consumer_refusal(const wire::topic_name& t,
                                                                const schema::definition& d,
                                                                schema::strategy s) {
  if (s == schema::strategy::always_compatible) return std::nullopt;
  auto v = load(t);
  if (!v) return v.error();
  if (live_begin(**v) == (*v)->cend()) {
    return schema_refusal{schema_refusal::reason::not_found, "Topic does not have schema to check"};
  }
  // Pulsar's choice, kept as it is: the non-transitive strategies (and FORWARD_TRANSITIVE) check
  // that the consumer can read the latest version; the others check every version by themselves.
  using enum schema::strategy;
  const bool latest_only = s == backward || s == forward || s == forward_transitive || s == full;
  return check(t, d, latest_only ? backward : s);
}

tl::expected<std::int64_t, schema_refusal> schema_registry::remove(const wire::topic_name& t) {
  auto v = load(t);
  if (!v) return tl::unexpected(v.error());
  versions& all = **v;
  all.push_back({.version = all.empty() ? 0 : all.back().version + 1,
                 .definition = {.type = "NONE"},
                 .timestamp_ms = now_ms(),
                 .deleted = true});
  if (auto failed = store(t, all)) {
    all.pop_back();
    return tl::unexpected(*failed);
  }
  return all.back().version;
}

result<void> schema_registry::drop(const wire::topic_name& t) {
  cache_.erase(schema_id(t));
  if (data_dir_.empty()) return {};
  return storage::remove_file(storage::schema_file(data_dir_, t));
}

}  // namespace shfn::broker
