#include "schema/compatibility.h"

#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/bytes.h"
#include "schema/avro.h"

namespace shfn::schema {

namespace {

constexpr std::array<std::pair<std::string_view, strategy>, 8> strategies{{
    {"ALWAYS_INCOMPATIBLE", strategy::always_incompatible},
    {"ALWAYS_COMPATIBLE", strategy::always_compatible},
    {"BACKWARD", strategy::backward},
    {"FORWARD", strategy::forward},
    {"FULL", strategy::full},
    {"BACKWARD_TRANSITIVE", strategy::backward_transitive},
    {"FORWARD_TRANSITIVE", strategy::forward_transitive},
    {"FULL_TRANSITIVE", strategy::full_transitive},
}};

// Types whose definition is an Avro schema. PROTOBUF's is too, but Pulsar checks it by the
// default rule (only ALWAYS_INCOMPATIBLE refuses).
constexpr std::array<std::pair<std::string_view, strategy>, 8> auto_update_strategies{{
    {"AutoUpdateDisabled", strategy::always_incompatible},
    {"AlwaysCompatible", strategy::always_compatible},
    {"Backward", strategy::backward},
    {"Forward", strategy::forward},
    {"Full", strategy::full},
    {"BackwardTransitive", strategy::backward_transitive},
    {"ForwardTransitive", strategy::forward_transitive},
    {"FullTransitive", strategy::full_transitive},
}};

bool is_avro_definition(std::string_view type) {
  return type == "AVRO" || type == "JSON" || type == "PROTOBUF";
}
bool is_avro_checked(std::string_view type) {
  return type == "AVRO" || type == "JSON";
}

// A PROTOBUF_NATIVE definition names its root message; Pulsar refuses a change of it.
std::optional<std::string> root_message_of(const definition& d) {
  const auto j = nlohmann::json::parse(d.data, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("rootMessageTypeName") ||
      !j["rootMessageTypeName"].is_string()) {
    return std::nullopt;
  }
  return j["rootMessageTypeName"].get<std::string>();
}

// A KEY_VALUE definition's two halves: each a 4-byte big-endian length and the bytes, with the
// types in the properties Pulsar's clients set.
struct key_value {
  definition key;
  definition value;
};

std::optional<key_value> split_key_value(const definition& d) {
  byte_reader in(as_bytes(d.data));
  std::uint32_t length = 0;
  byte_view key;
  byte_view value;
  if (!in.read_u32(length) || !in.read_span(length, key)) return std::nullopt;
  if (!in.read_u32(length) || !in.read_span(length, value) || in.remaining() != 0) {
    return std::nullopt;
  }
  const auto type_of = [&](const char* property) {
    const auto it = d.properties.find(property);
    return it == d.properties.end() ? std::string("BYTES") : it->second;
  };
  return key_value{
      .key = {.type = type_of("key.schema.type"), .data = std::string(as_chars(key))},
      .value = {.type = type_of("value.schema.type"), .data = std::string(as_chars(value))}};
}

// Why data written with `writer` cannot be read with `reader` (same type).
std::optional<std::string> cannot_read(const definition& reader, const definition& writer) {
  if (is_avro_checked(reader.type)) {
    auto r = avro::schema::parse(reader.data);
    auto w = avro::schema::parse(writer.data);
    if (!r) return "the definition is not a valid Avro schema: " + r.error();
    if (!w) return "the stored definition is not a valid Avro schema: " + w.error();
    return avro::cannot_read(*r, *w);
  }
  if (reader.type == "KEY_VALUE") {
    auto r = split_key_value(reader);
    auto w = split_key_value(writer);
    if (!r || !w) return std::string("a KEY_VALUE definition is not a key and a value");
    if (r->key.type != w->key.type || r->value.type != w->value.type) {
      return std::string("the key or value type changed");
    }
    if (auto why = cannot_read(r->key, w->key)) return "the key: " + *why;
    if (auto why = cannot_read(r->value, w->value)) return "the value: " + *why;
  }
  if (reader.type == "PROTOBUF_NATIVE" && root_message_of(reader) != root_message_of(writer)) {
    return std::string("Protobuf root message isn't allow change!");
  }
  return std::nullopt;  // nothing to evolve
}

// The one-version check a strategy asks for, `candidate` against `existing`.
std::optional<std::string> against(const definition& candidate, const definition& existing,
                                   strategy s) {
  if (candidate.type != existing.type) {
    return "Incompatible schema: exists schema type " + existing.type + ", new schema type " +
           candidate.type;
  }
  const bool backward = s != strategy::forward && s != strategy::forward_transitive;
  const bool forward = s != strategy::backward && s != strategy::backward_transitive;
  // Pulsar's words up to the colon; then which way the data cannot be read, and where.
  const std::string check =
      "Error during schema compatibility check with strategy " + std::string(name_of(s)) + ": ";
  if (backward) {
    if (auto why = cannot_read(candidate, existing)) {
      return check + "the new schema cannot read data written with an existing one: " + *why;
    }
  }
  if (forward) {
    if (auto why = cannot_read(existing, candidate)) {
      return check + "an existing schema cannot read data written with the new one: " + *why;
    }
  }
  return std::nullopt;
}

bool transitive(strategy s) {
  return s == strategy::backward_transitive || s == strategy::forward_transitive ||
         s == strategy::full_transitive;
}

}  // namespace

std::optional<strategy> strategy_named(std::string_view name) {
  for (const auto& [n, s] : strategies) {
    if (n == name) return s;
  }
  return std::nullopt;
}

std::optional<strategy> strategy_of_auto_update(std::string_view name) {
  for (const auto& [n, s] : auto_update_strategies) {
    if (n == name) return s;
  }
  return std::nullopt;
}

std::string_view name_of(strategy s) {
  for (const auto& [n, known] : strategies) {
    if (known == s) return n;
  }
  return "FULL";
}

bool same_schema(const definition& a, const definition& b) {
  if (a.type != b.type) return false;
  if (!is_avro_definition(a.type)) return a.data == b.data;
  // The same Avro schema however it is spaced or its keys ordered.
  const auto ja = nlohmann::json::parse(a.data, nullptr, /*allow_exceptions=*/false);
  const auto jb = nlohmann::json::parse(b.data, nullptr, /*allow_exceptions=*/false);
  return !ja.is_discarded() && ja == jb;
}

std::optional<std::string> invalid(const definition& d) {
  if (d.type == "AUTO" || d.type == "AUTO_CONSUME" || d.type == "AUTO_PUBLISH") {
    return "Schema " + d.type + " is a client-side schema type";
  }
  if (is_avro_definition(d.type)) {
    if (auto parsed = avro::schema::parse(d.data); !parsed) {
      return "invalid " + d.type + " schema definition: " + parsed.error();
    }
  }
  if (d.type == "KEY_VALUE") {
    auto kv = split_key_value(d);
    if (!kv) return std::string("invalid KEY_VALUE schema: the data is not a key and a value");
    if (auto why = invalid(kv->key)) return "the key: " + *why;
    if (auto why = invalid(kv->value)) return "the value: " + *why;
  }
  return std::nullopt;
}

std::optional<std::string> incompatibility(const definition& candidate,
                                           std::span<const definition> existing, strategy s) {
  if (existing.empty() || s == strategy::always_compatible) return std::nullopt;
  if (s == strategy::always_incompatible) {
    return std::string("Schema compatibility strategy is ALWAYS_INCOMPATIBLE");
  }
  const auto checked = transitive(s) ? existing : existing.last(1);
  for (const definition& old : checked) {
    if (auto why = against(candidate, old, s)) return why;
  }
  return std::nullopt;
}

}  // namespace shfn::schema
