#pragma once
// Tenants and namespaces, as Pulsar has them: a topic lives in a namespace of a tenant, and a
// topic in a tenant or namespace that does not exist is refused (TopicNotFound), as Pulsar
// refuses it. `public/default` and `pulsar/system` are there from the start, as on Pulsar
// standalone; so is every namespace that already holds topics on disk (a data directory from
// before tenancy was kept).
//
// Each namespace carries the policies set on it, by Pulsar's names ("retention_policies",
// "autoTopicCreationOverride", ...); a policy never set is absent. The broker honours the ones
// it has the mechanism for (retention, message TTL, auto topic creation); the admin API
// refuses the values it would not honour (admin_tenancy.cc says which).
//
// Durable: the whole state is one JSON file, DATA/tenancy.json, replaced (written, synced and
// renamed) on every change, so after a crash it holds the state before the change or after it.
// Changes are rare (an operator's command), so rewriting it all costs nothing worth saving.
// Owned by the broker_context; used on the broker's executor only.

#include <filesystem>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/result.h"

namespace shfn::broker {

enum class tenancy_errc {
  tenant_exists = 1,
  tenant_not_found,
  tenant_not_empty,  // it still has namespaces
  namespace_exists,
  namespace_not_found,
  bad_name,
  corrupt_file,  // DATA/tenancy.json cannot be read back
};
const std::error_category& tenancy_category();
std::error_code make_error_code(tenancy_errc e);

inline constexpr std::string_view cluster_name = "standalone";

struct tenant_info {
  std::vector<std::string> admin_roles;
  std::vector<std::string> allowed_clusters{std::string(cluster_name)};
};

class tenancy {
 public:
  // Reads DATA/tenancy.json, or starts from the defaults (and the namespaces found on disk)
  // when there is none.
  static result<tenancy> open(const std::filesystem::path& data_dir);
  tenancy() = default;  // empty, not backed by a file: for a broker_context before open()

  std::vector<std::string> tenants() const;
  const tenant_info* tenant(std::string_view name) const;
  result<void> create_tenant(const std::string& name, tenant_info info);
  result<void> update_tenant(const std::string& name, tenant_info info);
  result<void> remove_tenant(const std::string& name);  // refused while it has namespaces

  // "tenant/namespace" names, sorted.
  result<std::vector<std::string>> namespaces(std::string_view tenant) const;
  bool has_namespace(std::string_view tenant, std::string_view ns) const;
  result<void> create_namespace(const std::string& tenant, const std::string& ns);
  // The caller checks that the namespace holds no topic first.
  result<void> remove_namespace(std::string_view tenant, std::string_view ns);

  // One policy by its Pulsar name; nullopt when never set (or no such namespace).
  std::optional<nlohmann::json> policy(std::string_view tenant, std::string_view ns,
                                       std::string_view name) const;
  // Sets (or, with a null value, removes) one policy.
  result<void> set_policy(std::string_view tenant, std::string_view ns, const std::string& name,
                          const nlohmann::json& value);
  // Pulsar's policies document of a new namespace on a standalone.
  static nlohmann::json default_policies();
  // Pulsar's whole policies document: its defaults, with the policies set on top.
  result<nlohmann::json> policies(std::string_view tenant, std::string_view ns) const;

 private:
  struct ns_state {
    std::map<std::string, std::string> policies;  // name -> JSON text
  };
  struct tenant_state {
    tenant_info info;
    std::map<std::string, ns_state, std::less<>> namespaces;
  };

  ns_state* find(std::string_view tenant, std::string_view ns);
  const ns_state* find(std::string_view tenant, std::string_view ns) const;
  result<void> save() const;
  std::string to_json() const;
  static result<tenancy> from_json(const std::string& text);

  std::filesystem::path file_;  // empty: not durable
  std::map<std::string, tenant_state, std::less<>> tenants_;
};

}  // namespace shfn::broker

template <>
struct std::is_error_code_enum<shfn::broker::tenancy_errc> : std::true_type {};
