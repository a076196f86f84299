// The session's schemas: the schema a PRODUCER or SUBSCRIBE brings (the registry decides,
// schema_registry.h), GET_SCHEMA and GET_OR_CREATE_SCHEMA. A version travels as Pulsar sends it:
// 8 bytes, big-endian; no schema is an empty version.
#include <array>
#include <utility>

#include "base/bytes.h"
#include "base/log.h"
#include "broker/context.h"
#include "broker/registry.h"
#include "broker/session.h"
#include "broker/session_protocol.h"
#include "broker/topic.h"

namespace shfn::broker {

namespace pb = wire::pb;

namespace {

// Pulsar's SchemaType names by the protocol's numbers.
constexpr std::array<std::pair<pb::Schema::Type, std::string_view>, 22> type_names{{
    {pb::Schema::None, "NONE"},
    {pb::Schema::String, "STRING"},
    {pb::Schema::Json, "JSON"},
    {pb::Schema::Protobuf, "PROTOBUF"},
    {pb::Schema::Avro, "AVRO"},
    {pb::Schema::Bool, "BOOLEAN"},
    {pb::Schema::Int8, "INT8"},
    {pb::Schema::Int16, "INT16"},
    {pb::Schema::Int32, "INT32"},
    {pb::Schema::Int64, "INT64"},
    {pb::Schema::Float, "FLOAT"},
    {pb::Schema::Double, "DOUBLE"},
    {pb::Schema::Date, "DATE"},
    {pb::Schema::Time, "TIME"},
    {pb::Schema::Timestamp, "TIMESTAMP"},
    {pb::Schema::KeyValue, "KEY_VALUE"},
    {pb::Schema::Instant, "INSTANT"},
    {pb::Schema::LocalDate, "LOCAL_DATE"},
    {pb::Schema::LocalTime, "LOCAL_TIME"},
    {pb::Schema::LocalDateTime, "LOCAL_DATE_TIME"},
    {pb::Schema::ProtobufNative, "PROTOBUF_NATIVE"},
    {pb::Schema::AutoConsume, "AUTO_CONSUME"},
}};

schema::definition definition_of(const pb::Schema& s) {
  schema::definition d{.type = "NONE", .data = s.schema_data()};
  for (const auto& [type, name] : type_names) {
    if (type == s.type()) d.type = name;
  }
  for (const auto& p : s.properties()) d.properties[p.key()] = p.value();
  return d;
}

void fill(pb::Schema& out, const std::string& name, const schema::definition& d) {
  out.set_name(name);
  out.set_schema_data(d.data);
  out.set_type(pb::Schema::None);
  for (const auto& [type, type_name] : type_names) {
    if (type_name == d.type) out.set_type(type);
  }
  for (const auto& [key, value] : d.properties) {
    auto* p = out.add_properties();
    p->set_key(key);
    p->set_value(value);
  }
}

std::string version_bytes(std::int64_t version) {
  bytes out;
  put_u32(out, static_cast<std::uint32_t>(static_cast<std::uint64_t>(version) >> 32));
  put_u32(out, static_cast<std::uint32_t>(version));
  return std::string(as_chars(out));
}

std::optional<std::int64_t> version_number(const std::string& encoded) {
  if (encoded.size() != 8) return std::nullopt;
  const auto* b = reinterpret_cast<const std::uint8_t*>(encoded.data());
  return static_cast<std::int64_t>((std::uint64_t{load_u32(b)} << 32) | load_u32(b + 4));
}

// A schema the client sends only to say "bytes": no schema.
bool brings_schema(bool has_schema, const pb::Schema& s) {
  return has_schema && s.type() != pb::Schema::None;
}

pb::ServerError error_of(const schema_refusal& r) {
  return r.why == schema_refusal::reason::storage ? pb::PersistenceError : pb::IncompatibleSchema;
}

}  // namespace

tl::expected<std::string, schema_refusal> session::producer_schema_version(
    bool has_schema, const pb::Schema& s, const wire::topic_name& name) {
  if (brings_schema(has_schema, s)) {
    auto version = ctx_.schemas.put(name, definition_of(s), schema_policy_of(ctx_.tenants, name));
    if (!version) return tl::unexpected(version.error());
    return version_bytes(*version);
  }
  if (schema_validation_enforced(ctx_.tenants, name)) {
    auto latest = ctx_.schemas.latest(name);
    if (!latest) return tl::unexpected(latest.error());
    if (*latest) {
      return tl::unexpected(schema_refusal{
          schema_refusal::reason::incompatible,
          "Producers cannot connect or send message without a schema to topics with a schema"});
    }
  }
  return std::string();
}

std::optional<schema_refusal> session::admit_consumer_schema(const pb::CommandSubscribe& c,
                                                             const topic& t) {
  if (!brings_schema(c.has_schema(), c.schema()) || c.schema().type() == pb::Schema::AutoConsume) {
    return std::nullopt;  // reads whatever is there
  }
  const wire::topic_name& name = t.name_parts();
  const schema::definition d = definition_of(c.schema());
  const schema_policy policy = schema_policy_of(ctx_.tenants, name);
  auto latest = ctx_.schemas.latest(name);
  if (!latest) return latest.error();
  if (!*latest && !t.in_use_for_schemas()) {
    // An idle topic without a schema takes the consumer's.
    if (auto added = ctx_.schemas.put(name, d, policy); !added) return added.error();
    return std::nullopt;
  }
  auto refused = ctx_.schemas.consumer_refusal(name, d, policy.strategy);
  if (refused && refused->why == schema_refusal::reason::not_found) {
    refused->message =
        "Failed to add schema to an active topic with empty(BYTES) schema: new schema type " +
        d.type;
  }
  return refused;
}

void session::refuse_schema(std::uint64_t request_id, const std::string& topic_name,
                            const schema_refusal& r) {
  spdlog::info("client {}: schema on {} refused: {}", peer(), topic_name, r.message);
  send_request_error(request_id, error_of(r), r.message);
}

void session::on_get_schema(const pb::CommandGetSchema& c) {
  auto reply = command_of(pb::BaseCommand::GET_SCHEMA_RESPONSE);
  auto* r = reply.mutable_getschemaresponse();
  r->set_request_id(c.request_id());
  const auto refuse = [&](pb::ServerError code, const std::string& message) {
    r->set_error_code(code);
    r->set_error_message(message);
    send(reply);
  };
  const auto name = wire::parse_topic_name(c.topic());
  if (!name) return refuse(pb::InvalidTopicName, "Invalid topic name " + c.topic());
  if (c.has_schema_version() && c.schema_version().empty()) {
    return refuse(pb::IncompatibleSchema, "Empty schema version");
  }
  tl::expected<std::optional<stored_schema>, schema_refusal> found = std::nullopt;
  if (!c.has_schema_version()) {
    found = ctx_.schemas.latest(*name);
  } else if (auto number = version_number(c.schema_version())) {
    found = ctx_.schemas.at(*name, *number);
  }
  if (!found) return refuse(pb::UnknownError, found.error().message);
  if (!*found) return refuse(pb::TopicNotFound, "Topic not found or no-schema " + c.topic());
  fill(*r->mutable_schema(), schema_registry::schema_id(*name), (*found)->definition);
  r->set_schema_version(version_bytes((*found)->version));
  send(reply);
}

void session::on_get_or_create_schema(const pb::CommandGetOrCreateSchema& c) {
  auto reply = command_of(pb::BaseCommand::GET_OR_CREATE_SCHEMA_RESPONSE);
  auto* r = reply.mutable_getorcreateschemaresponse();
  r->set_request_id(c.request_id());
  const auto name = wire::parse_topic_name(c.topic());
  if (!name || !topics_.exists(*name)) {
    r->set_error_code(pb::TopicNotFound);
    r->set_error_message("Topic not found " + c.topic());
    return send(reply);
  }
  auto version = producer_schema_version(true, c.schema(), *name);
  if (!version) {
    r->set_error_code(error_of(version.error()));
    r->set_error_message(version.error().message);
  } else {
    r->set_schema_version(*version);
  }
  send(reply);
}

}  // namespace shfn::broker
