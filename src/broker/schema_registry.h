#pragma once
// The schema registry, as Pulsar keeps it: every topic (a partitioned topic and its partitions
// together, by the schema id "tenant/namespace/topic") has a list of schema versions, 0, 1, 2,
// ... A producer or consumer that brings a schema gets the version equal to it, or a new version
// when its namespace's compatibility strategy lets the new schema follow the ones there
// (schema/compatibility.h); otherwise it is refused with IncompatibleSchema. Deleting a topic's
// schema adds a deletion marker; the versions before it stay readable by number, and the next
// schema starts a new history.
//
// Durable: each schema id is one JSON file, DATA/schemas/<tenant>/<namespace>/<topic>.json
// (storage/layout.h), replaced (written, synced, renamed) before a new version is answered.
// Files are read when a topic's schema is first asked for. Owned by the broker_context; used on
// the broker's executor only.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <tl/expected.hpp>
#include <vector>

#include "base/result.h"
#include "schema/compatibility.h"
#include "wire/topic_name.h"

namespace shfn::broker {

struct stored_schema {
  std::int64_t version = 0;
  schema::definition definition;
  std::int64_t timestamp_ms = 0;
  bool deleted = false;  // a deletion marker, not a schema
};

// Why a schema was not taken, in words for the client.
struct schema_refusal {
  enum class reason {
    invalid,       // not a valid definition for its type
    incompatible,  // the strategy does not let it follow
    not_found,     // auto update is off and no version equals it; or no schema to check against
    storage,       // the registry's file could not be read or written
  };
  reason why;
  std::string message;
};

// What a new schema is checked under: the namespace's policies.
struct schema_policy {
  schema::strategy strategy = schema::default_strategy;
  bool allow_auto_update = true;  // false: only schemas already registered are accepted
};

class tenancy;
// The namespace's schema policies, by Pulsar's names: "schema_compatibility_strategy" (when
// UNDEFINED, "schema_auto_update_compatibility_strategy", then the broker's default),
// "is_allow_auto_update_schema".
schema_policy schema_policy_of(const tenancy& tenants, const wire::topic_name& t);
// "schema_validation_enforced": a producer without a schema is refused on a topic with one.
bool schema_validation_enforced(const tenancy& tenants, const wire::topic_name& t);

class schema_registry {
 public:
  // The schema id Pulsar names a topic's schemas by: "tenant/namespace/topic", the same for its
  // partitions and both domains.
  static std::string schema_id(const wire::topic_name& t);

  schema_registry() = default;  // not backed by a directory: for a broker_context before start
  explicit schema_registry(std::filesystem::path data_dir) : data_dir_(std::move(data_dir)) {}

  // Every version of the topic's schema, deletion markers included, oldest first.
  tl::expected<std::vector<stored_schema>, schema_refusal> history(const wire::topic_name& t);
  // The latest version, or nullopt when there is none or it was deleted.
  tl::expected<std::optional<stored_schema>, schema_refusal> latest(const wire::topic_name& t);
  // The versions since the last deletion marker, oldest first.
  tl::expected<std::vector<stored_schema>, schema_refusal> live_history(const wire::topic_name& t);
  // One version by number (a deleted history's too: a consumer may still read its messages),
  // or nullopt.
  tl::expected<std::optional<stored_schema>, schema_refusal> at(const wire::topic_name& t,
                                                                std::int64_t version);

  // The version of `d`: an equal live one, or a new one when `policy` allows it.
  tl::expected<std::int64_t, schema_refusal> put(const wire::topic_name& t,
                                                 const schema::definition& d,
                                                 const schema_policy& policy);
  // Why a consumer reading with `d` may not join the topic, which is in use, as Pulsar checks
  // it: that it can read the latest version, or under BACKWARD_TRANSITIVE, FULL_TRANSITIVE and
  // ALWAYS_INCOMPATIBLE every version by that strategy. A topic without a schema has nothing to
  // check against: refused (reason::not_found).
  std::optional<schema_refusal> consumer_refusal(const wire::topic_name& t,
                                                 const schema::definition& d, schema::strategy s);
  // Why `d` could not follow the versions there (without adding it), or nullopt.
  std::optional<schema_refusal> check(const wire::topic_name& t, const schema::definition& d,
                                      schema::strategy s);

  // Adds a deletion marker and returns its version. As in Pulsar, it is added even when there is
  // nothing to delete, and takes a version number of its own.
  tl::expected<std::int64_t, schema_refusal> remove(const wire::topic_name& t);
  // Forgets the topic's schemas entirely, with the topic.
  result<void> drop(const wire::topic_name& t);

 private:
  using versions = std::vector<stored_schema>;
  tl::expected<versions*, schema_refusal> load(const wire::topic_name& t);
  std::optional<schema_refusal> store(const wire::topic_name& t, const versions& v);
  // Where the live versions start: just after the last deletion marker.
  static versions::const_iterator live_begin(const versions& v);

  std::filesystem::path data_dir_;
  std::map<std::string, versions> cache_;  // by schema id, loaded on first use
};

}  // namespace shfn::broker
