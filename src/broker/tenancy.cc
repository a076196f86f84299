#include "broker/tenancy.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/log.h"
#include "storage/file.h"
#include "storage/layout.h"
#include "wire/topic_name.h"

namespace shfn::broker {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::string_view file_name = "tenancy.json";

class tenancy_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tenancy"; }
  std::string message(int e) const override {
    switch (static_cast<tenancy_errc>(e)) {
      case tenancy_errc::tenant_exists:
        return "Tenant already exist";  // sic: Pulsar's words, which clients may match
      case tenancy_errc::tenant_not_found:
        return "Tenant does not exist";
      case tenancy_errc::tenant_not_empty:
        return "The tenant still has active namespaces";
      case tenancy_errc::namespace_exists:
        return "Namespace already exists";
      case tenancy_errc::namespace_not_found:
        return "Namespace does not exist";
      case tenancy_errc::bad_name:
        return "Tenant or namespace name is not valid";
      case tenancy_errc::corrupt_file:
        return "the tenants and namespaces file cannot be read";
    }
    return "tenancy error " + std::to_string(e);
  }
};

// The namespaces that hold topics under DATA/topics/<domain>/<tenant>/<namespace>.
std::vector<std::pair<std::string, std::string>> namespaces_on_disk(const fs::path& data_dir) {
  std::vector<std::pair<std::string, std::string>> found;
  std::error_code ec;
  for (const char* domain : {"persistent", "non-persistent"}) {
    const fs::path root = data_dir / "topics" / domain;
    for (const auto& t : fs::directory_iterator(root, ec)) {
      auto tenant = storage::decode_path_component(t.path().filename().string());
      if (!tenant || !t.is_directory()) continue;
      std::error_code inner;
      for (const auto& n : fs::directory_iterator(t.path(), inner)) {
        auto ns = storage::decode_path_component(n.path().filename().string());
        if (ns && n.is_directory()) found.emplace_back(*tenant, *ns);
      }
    }
  }
  return found;
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

const std::error_category& tenancy_category() {
  static const tenancy_category_impl category;
  return category;
}

std::error_code make_error_code(tenancy_errc e) {
  return {static_cast<int>(e), tenancy_category()};
}

// ------------------------------------------------------------------------------ the file

result<tenancy> tenancy::open(const fs::path& data_dir) {
  const fs::path file = data_dir / file_name;
  tenancy t;
  if (auto text = read_file(file)) {
    auto loaded = from_json(*text);
    if (!loaded) {
      spdlog::error("{}: {}", file.string(), loaded.error().message());
      return fail(loaded.error());
    }
    t = std::move(*loaded);
    t.file_ = file;
    return t;
  }
  t.file_ = file;
  t.tenants_["public"].namespaces["default"];
  t.tenants_["pulsar"].namespaces["system"];
  for (const auto& [tenant, ns] : namespaces_on_disk(data_dir)) {
    t.tenants_[tenant].namespaces[ns];
  }
  if (auto ok = t.save(); !ok) return fail(ok.error());
  return t;
}

std::string tenancy::to_json() const {
  json tenants = json::object();
  for (const auto& [name, t] : tenants_) {
    json namespaces = json::object();
    for (const auto& [ns, state] : t.namespaces) {
      json policies = json::object();
      for (const auto& [policy, text] : state.policies) policies[policy] = json::parse(text);
      namespaces[ns] = {{"policies", std::move(policies)}};
    }
    tenants[name] = {{"adminRoles", t.info.admin_roles},
                     {"allowedClusters", t.info.allowed_clusters},
                     {"namespaces", std::move(namespaces)}};
  }
  return json{{"version", 1}, {"tenants", std::move(tenants)}}.dump(2) + "\n";
}

result<tenancy> tenancy::from_json(const std::string& text) {
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("tenants") || !doc["tenants"].is_object()) {
    return fail(tenancy_errc::corrupt_file);
  }
  tenancy t;
  try {
    for (const auto& [name, entry] : doc["tenants"].items()) {
      auto& state = t.tenants_[name];
      state.info.admin_roles = entry.at("adminRoles").get<std::vector<std::string>>();
      state.info.allowed_clusters = entry.at("allowedClusters").get<std::vector<std::string>>();
      for (const auto& [ns, ns_entry] : entry.at("namespaces").items()) {
        auto& policies = state.namespaces[ns].policies;
        for (const auto& [policy, value] : ns_entry.at("policies").items()) {
          policies[policy] = value.dump();
        }
      }
    }
  } catch (const json::exception&) {
    return fail(tenancy_errc::corrupt_file);
  }
  return t;
}

result<void> tenancy::save() const {
  if (file_.empty()) return {};
  const std::string text = to_json();
  return storage::replace_file_durably(
      file_, byte_view(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

// ------------------------------------------------------------------------------ tenants

std::vector<std::string> tenancy::tenants() const {
  std::vector<std::string> names;
  for (const auto& [name, t] : tenants_) names.push_back(name);
  return names;
}

const tenant_info* tenancy::tenant(std::string_view name) const {
  auto it = tenants_.find(name);
  return it == tenants_.end() ? nullptr : &it->second.info;
}

result<void> tenancy::create_tenant(const std::string& name, tenant_info info) {
  if (!wire::valid_entity_name(name)) return fail(tenancy_errc::bad_name);
  if (tenants_.contains(name)) return fail(tenancy_errc::tenant_exists);
  tenants_[name].info = std::move(info);
  if (auto ok = save(); !ok) {
    tenants_.erase(name);
    return ok;
  }
  return {};
}

result<void> tenancy::update_tenant(const std::string& name, tenant_info info) {
  auto it = tenants_.find(name);
  if (it == tenants_.end()) return fail(tenancy_errc::tenant_not_found);
  std::swap(it->second.info, info);
  if (auto ok = save(); !ok) {
    std::swap(it->second.info, info);
    return ok;
  }
  return {};
}

result<void> tenancy::remove_tenant(const std::string& name) {
  auto it = tenants_.find(name);
  if (it == tenants_.end()) return fail(tenancy_errc::tenant_not_found);
  if (!it->second.namespaces.empty()) return fail(tenancy_errc::tenant_not_empty);
  tenant_state removed = std::move(it->second);
  tenants_.erase(it);
  if (auto ok = save(); !ok) {
    tenants_[name] = std::move(removed);
    return ok;
  }
  return {};
}

// ------------------------------------------------------------------------------ namespaces

result<std::vector<std::string>> tenancy::namespaces(std::string_view tenant) const {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return fail(tenancy_errc::tenant_not_found);
  std::vector<std::string> names;
  for (const auto& [ns, state] : it->second.namespaces) names.push_back(it->first + "/" + ns);
  return names;
}

tenancy::ns_state* tenancy::find(std::string_view tenant, std::string_view ns) {
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return nullptr;
  auto n = t->second.namespaces.find(ns);
  return n == t->second.namespaces.end() ? nullptr : &n->second;
}

const tenancy::ns_state* tenancy::find(std::string_view tenant, std::string_view ns) const {
  return const_cast<tenancy*>(this)->find(tenant, ns);  // NOLINT: the same lookup, read-only
}

bool tenancy::has_namespace(std::string_view tenant, std::string_view ns) const {
  return find(tenant, ns) != nullptr;
}

result<void> tenancy::create_namespace(const std::string& tenant, const std::string& ns) {
  if (!wire::valid_entity_name(ns)) return fail(tenancy_errc::bad_name);
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return fail(tenancy_errc::tenant_not_found);
  if (t->second.namespaces.contains(ns)) return fail(tenancy_errc::namespace_exists);
  t->second.namespaces[ns];
  if (auto ok = save(); !ok) {
    t->second.namespaces.erase(ns);
    return ok;
  }
  return {};
}

result<void> tenancy::remove_namespace(std::string_view tenant, std::string_view ns) {
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return fail(tenancy_errc::namespace_not_found);
  auto n = t->second.namespaces.find(ns);
  if (n == t->second.namespaces.end()) return fail(tenancy_errc::namespace_not_found);
  const std::string name = n->first;
  ns_state removed = std::move(n->second);
  t->second.namespaces.erase(n);
  if (auto ok = save(); !ok) {
    t->second.namespaces[name] = std::move(removed);
    return ok;
  }
  return {};
}

// ------------------------------------------------------------------------------ policies

std::optional<json> tenancy::policy(std::string_view tenant, std::string_view ns,
                                    std::string_view name) const {
  const ns_state* state = find(tenant, ns);
  if (state == nullptr) return std::nullopt;
  auto it = state->policies.find(std::string(name));
  if (it == state->policies.end()) return std::nullopt;
  return json::parse(it->second);
}

result<void> tenancy::set_policy(std::string_view tenant, std::string_view ns,
                                 const std::string& name, const json& value) {
  ns_state* state = find(tenant, ns);
  if (state == nullptr) return fail(tenancy_errc::namespace_not_found);
  const auto before = state->policies;
  if (value.is_null()) {
    state->policies.erase(name);
  } else {
    state->policies[name] = value.dump();
  }
  if (auto ok = save(); !ok) {
    state->policies = before;
    return ok;
  }
  return {};
}

json tenancy::default_policies() {
  // One cluster, 4 bundles, nothing set.
  return {
      {"auth_policies",
       {{"namespace_auth", json::object()},
        {"destination_auth", json::object()},
        {"subscription_auth_roles", json::object()}}},
      {"replication_clusters", {std::string(cluster_name)}},
      {"allowed_clusters", json::array()},
      {"bundles",
       {{"boundaries", {"0x00000000", "0x40000000", "0x80000000", "0xc0000000", "0xffffffff"}},
        {"numBundles", 4}}},
      {"backlog_quota_map", json::object()},
      {"clusterDispatchRate", json::object()},
      {"topicDispatchRate", json::object()},
      {"subscriptionDispatchRate", json::object()},
      {"replicatorDispatchRate", json::object()},
      {"clusterSubscribeRate", json::object()},
      {"publishMaxMessageRate", json::object()},
      {"latency_stats_sample_rate", json::object()},
      {"deleted", false},
      {"encryption_required", false},
      {"subscription_auth_mode", "None"},
      {"offload_threshold", -1},
      {"offload_threshold_in_seconds", -1},
      {"schema_compatibility_strategy", "UNDEFINED"},
      {"is_allow_auto_update_schema", true},
      {"schema_validation_enforced", false},
      {"subscription_types_enabled", json::array()},
      {"properties", json::object()},
      {"migrated", false},
      {"clusterThatCanDeleteNamespace", std::string(cluster_name)},
  };
}

result<json> tenancy::policies(std::string_view tenant, std::string_view ns) const {
  const ns_state* state = find(tenant, ns);
  if (state == nullptr) return fail(tenancy_errc::namespace_not_found);
  json doc = default_policies();
  for (const auto& [name, text] : state->policies) doc[name] = json::parse(text);
  return doc;
}

}  // namespace shfn::broker
