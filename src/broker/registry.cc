#include "broker/registry.h"

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "base/log.h"
#include "broker/topic.h"
#include "storage/file.h"
#include "storage/layout.h"
#include "wire/errc.h"

namespace shfn::broker {

namespace pb = wire::pb;
namespace fs = std::filesystem;

namespace {

// Half the soft descriptor limit: the other half is for connections and everything else.
std::size_t default_open_files_budget() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 4096;
  return std::max<std::size_t>(16, static_cast<std::size_t>(limit.rlim_cur) / 2);
}

// Idle, and referenced by nothing but the registry: nobody can tell it was unloaded.
bool unloadable(const std::shared_ptr<topic>& t) {
  return t.use_count() == 1 && t->idle();
}

}  // namespace

topic_registry::topic_registry(broker_context& ctx)
    : ctx_(ctx),
      open_files_budget_(ctx.options.max_open_files != 0 ? ctx.options.max_open_files
                                                         : default_open_files_budget()) {}

result<std::shared_ptr<topic>> topic_registry::get(std::string_view name, creation how) {
  auto parsed = wire::parse_topic_name(name);
  if (!parsed) return fail(parsed.error());
  const std::string full = parsed->str();
  if (auto it = topics_.find(full); it != topics_.end()) {
    it->second->touch();
    return it->second;
  }
  if (auto ok = admits(*parsed); !ok) return fail(ok.error());
  if (parsed->partition < 0) {
    auto n = partitions(full);
    if (!n) return fail(n.error());
    if (*n > 0) return fail(wire::server_error(pb::NotAllowedError));
  }
  if (how == creation::automatic && !exists(*parsed) && !auto_creation_allowed(*parsed)) {
    return fail(wire::server_error(pb::TopicNotFound));
  }
  if (parsed->persistent) make_room();
  auto loaded = topic::load(ctx_, *parsed);
  if (!loaded) return fail(loaded.error());
  topics_.emplace(full, *loaded);
  return *loaded;
}

result<void> topic_registry::admits(const wire::topic_name& t) const {
  if (ctx_.tenants.has_namespace(t.tenant, t.ns)) return {};
  return fail(wire::server_error(pb::TopicNotFound));
}

bool topic_registry::exists(const wire::topic_name& t) const {
  if (topics_.contains(t.str())) return true;
  std::error_code ec;
  if (t.persistent && fs::exists(storage::topic_dir(ctx_.options.data_dir, t), ec)) return true;
  if (t.partition < 0) return false;
  wire::topic_name base = t;
  base.partition = -1;
  return t.partition < partitions(base.str()).value_or(0);
}

// Pulsar's default is to create topics on first use; a namespace's autoTopicCreationOverride
// can turn that off (the admin API refuses to make it create partitioned topics).
bool topic_registry::auto_creation_allowed(const wire::topic_name& t) const {
  auto policy = ctx_.tenants.policy(t.tenant, t.ns, "autoTopicCreationOverride");
  if (!policy || !policy->is_object()) return true;
  return policy->value("allowAutoTopicCreation", true);
}

void topic_registry::make_room() {
  // A new topic holds a segment and, soon, a cursor.
  constexpr std::size_t per_topic = 2;
  std::size_t open = 0;
  for (const auto& [name, t] : topics_) open += t->open_files();
  while (open + per_topic > open_files_budget_) {
    auto victim = topics_.end();
    for (auto it = topics_.begin(); it != topics_.end(); ++it) {
      if (!unloadable(it->second)) continue;
      if (victim == topics_.end() || it->second->last_used() < victim->second->last_used()) {
        victim = it;
      }
    }
    if (victim == topics_.end()) return;  // every loaded topic is in use: nothing to give back
    open -= std::min(open, victim->second->open_files());
    topics_.erase(victim);
  }
}

bool topic_registry::unload(const wire::topic_name& t) {
  auto it = topics_.find(t.str());
  if (it == topics_.end()) return false;
  it->second->disconnect_clients();
  // Still referenced (a write awaiting its sync): the idle unload takes it later.
  if (unloadable(it->second)) topics_.erase(it);
  return true;
}

std::size_t topic_registry::unload_idle(clock::time_point unused_since) {
  std::size_t unloaded = 0;
  for (auto it = topics_.begin(); it != topics_.end();) {
    if (it->second->last_used() < unused_since && unloadable(it->second)) {
      it = topics_.erase(it);
      ++unloaded;
    } else {
      ++it;
    }
  }
  return unloaded;
}

result<int> topic_registry::partitions(std::string_view name) const {
  auto parsed = wire::parse_topic_name(name);
  if (!parsed) return fail(parsed.error());
  if (parsed->partition >= 0) return 0;
  const fs::path file = storage::partitions_file(ctx_.options.data_dir, *parsed);
  std::ifstream in(file);
  if (!in) return 0;  // no such file: not a partitioned topic
  // A file that is there but unreadable must not turn a partitioned topic into a plain one,
  // whose producers would then write where no consumer of the partitions looks.
  int n = 0;
  if (in >> n && n > 0) return n;
  spdlog::error("the partition count of {} in {} is damaged", parsed->str(), file.string());
  return fail(wire::server_error(pb::MetadataError));
}

result<void> topic_registry::create_partitioned(std::string_view name, int partitions) {
  auto parsed = wire::parse_topic_name(name);
  if (!parsed) return fail(parsed.error());
  if (partitions <= 0 || parsed->partition >= 0)
    return fail(wire::server_error(pb::NotAllowedError));
  const fs::path file = storage::partitions_file(ctx_.options.data_dir, *parsed);
  std::error_code ec;
  if (fs::exists(file, ec)) return fail(wire::server_error(pb::NotAllowedError));
  // Durable before it is answered; a crash leaves the old state or the new, never an empty file.
  if (auto ok = storage::create_directory_durably(file.parent_path()); !ok) return fail(ok.error());
  const std::string text = std::to_string(partitions) + "\n";
  return storage::replace_file_durably(file, as_bytes(text));
}

result<void> topic_registry::grow_partitioned(std::string_view name, int partitions) {
  auto parsed = wire::parse_topic_name(name);
  if (!parsed) return fail(parsed.error());
  auto current = this->partitions(name);
  if (!current) return fail(current.error());
  if (*current == 0 || partitions <= *current) return fail(wire::server_error(pb::NotAllowedError));
  const std::string text = std::to_string(partitions) + "\n";
  return storage::replace_file_durably(storage::partitions_file(ctx_.options.data_dir, *parsed),
                                       as_bytes(text));
}

result<void> topic_registry::remove(std::string_view name) {
  auto parsed = wire::parse_topic_name(name);
  if (!parsed) return fail(parsed.error());
  std::vector<wire::topic_name> parts;
  auto n = partitions(name);
  if (n && *n > 0) {
    for (int i = 0; i < *n; ++i) parts.push_back(parsed->partition_of(i));
  } else {
    parts.push_back(*parsed);
  }
  std::vector<std::shared_ptr<topic>> loaded;
  for (const auto& part : parts) {
    auto t = get(part.str());
    if (!t) return fail(t.error());
    // None of a partitioned topic goes while one of its partitions is compacting.
    if ((*t)->compacting()) return fail(std::make_error_code(std::errc::operation_in_progress));
    loaded.push_back(std::move(*t));
  }
  for (const auto& t : loaded) {
    if (auto ok = t->remove(); !ok) return ok;
    topics_.erase(t->name());
  }
  if (n && *n > 0) {
    std::error_code ec;
    fs::remove(storage::partitions_file(ctx_.options.data_dir, *parsed), ec);
  }
  // The schema goes with the topic, not with one partition of it, as in Pulsar.
  if (parsed->partition < 0) return ctx_.schemas.drop(*parsed);
  return {};
}

std::vector<std::string> topic_registry::list(std::string_view tenant, std::string_view ns) const {
  std::vector<std::string> names;
  for (const auto& [name, t] : topics_) {
    auto parsed = wire::parse_topic_name(name);
    if (parsed && parsed->tenant == tenant && parsed->ns == ns) names.push_back(name);
  }
  for (const char* domain : {"persistent", "non-persistent"}) {
    const bool persistent = std::string_view(domain) == "persistent";
    const fs::path dir = storage::namespace_dir(ctx_.options.data_dir, persistent, tenant, ns);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!entry.is_directory()) continue;
      auto local = storage::decode_path_component(entry.path().filename().string());
      if (!local) continue;  // not a name we wrote
      const std::string full =
          std::string(domain) + "://" + std::string(tenant) + "/" + std::string(ns) + "/" + *local;
      if (!topics_.contains(full)) names.push_back(full);
    }
  }
  std::ranges::sort(names);
  return names;
}

std::vector<std::string> topic_registry::partitioned(bool persistent, std::string_view tenant,
                                                     std::string_view ns) const {
  const wire::topic_name probe{.persistent = persistent,
                               .tenant = std::string(tenant),
                               .ns = std::string(ns),
                               .local = "probe"};
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(
           storage::partitions_file(ctx_.options.data_dir, probe).parent_path(), ec)) {
    const std::string file = entry.path().filename().string();
    constexpr std::string_view suffix = storage::partitions_suffix;
    if (!entry.is_regular_file(ec) || !file.ends_with(suffix)) continue;
    auto local = storage::decode_path_component(file.substr(0, file.size() - suffix.size()));
    if (!local) continue;  // not a name we wrote
    wire::topic_name t = probe;
    t.local = std::move(*local);
    if (partitions(t.str()).value_or(0) > 0) names.push_back(t.str());
  }
  std::ranges::sort(names);
  return names;
}

std::vector<std::string> topic_registry::list_domain(bool persistent, std::string_view tenant,
                                                     std::string_view ns) const {
  const std::string prefix = persistent ? "persistent://" : "non-persistent://";
  std::set<std::string> names;
  for (auto& name : list(tenant, ns)) {
    if (name.starts_with(prefix)) names.insert(std::move(name));
  }
  for (const auto& base : partitioned(persistent, tenant, ns)) {
    auto t = wire::parse_topic_name(base);
    const int n = partitions(base).value_or(0);
    for (int i = 0; t && i < n; ++i) names.insert(t->partition_of(i).str());
  }
  return {names.begin(), names.end()};
}

void topic_registry::trim_all() {
  for (auto& [name, t] : topics_) {
    t->trim();
    t->release_idle_cursors();
  }
}

}  // namespace shfn::broker
