#pragma once
// Pulsar's schema compatibility rules: which new version of a topic's schema may follow the
// versions it has, under the strategy its namespace sets. AVRO and JSON definitions are Avro
// schemas and are checked by Avro's resolution rules (avro.h); KEY_VALUE checks its key and its
// value each by its own type; PROTOBUF_NATIVE may not change its root message; every other type
// (STRING, INT32, PROTOBUF, ...) has nothing Pulsar checks, so only ALWAYS_INCOMPATIBLE refuses a
// new one. A change of type is compatible only under ALWAYS_COMPATIBLE, as in Pulsar.
//
// Pure: the registry (broker/schema_registry.h) keeps the versions and calls these.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace shfn::schema {

// Pulsar's SchemaCompatibilityStrategy, without UNDEFINED (the broker's default stands for it).
enum class strategy {
  always_incompatible,
  always_compatible,
  backward,
  forward,
  full,
  backward_transitive,
  forward_transitive,
  full_transitive,
};
// By Pulsar's names ("FULL", "BACKWARD_TRANSITIVE", ...).
std::optional<strategy> strategy_named(std::string_view name);
std::string_view name_of(strategy s);
// Pulsar's older, deprecated names (SchemaAutoUpdateCompatibilityStrategy: "AutoUpdateDisabled",
// "Backward", ...), which a namespace whose strategy is UNDEFINED still goes by when set.
std::optional<strategy> strategy_of_auto_update(std::string_view name);
// What a namespace whose strategy is UNDEFINED gets: standalone.conf's schemaCompatibilityStrategy.
inline constexpr strategy default_strategy = strategy::full;

// One schema as a client or an operator gives it: Pulsar's type name ("AVRO", "STRING", ...),
// the definition (empty for most types) and its properties.
struct definition {
  std::string type;
  std::string data;
  std::map<std::string, std::string> properties;

  bool operator==(const definition&) const = default;
};

// Whether two definitions are one schema, as Pulsar finds an existing version for a client's
// schema: the same type, and the same Avro schema (AVRO, JSON, PROTOBUF) or the same bytes.
// Properties do not count.
bool same_schema(const definition& a, const definition& b);

// What is wrong with a definition, or nullopt: an AVRO, JSON or PROTOBUF definition must be an
// Avro schema, a KEY_VALUE one two valid definitions; AUTO types are the client's business.
std::optional<std::string> invalid(const definition& d);

// Why `candidate` may not become the next version after `existing` (the live versions, oldest
// first) under `s`, or nullopt when it may. The non-transitive strategies look at the latest
// version only.
std::optional<std::string> incompatibility(const definition& candidate,
                                           std::span<const definition> existing, strategy s);

}  // namespace shfn::schema
