#pragma once
// Internal to the session's parts (session.cc, session_lookup.cc, session_producers.cc,
// session_consumers.cc): a command to fill in, the ServerError an error is answered with, and
// which schemas the broker honours. Pure functions; nothing outside the session includes it.

#include <optional>
#include <string>
#include <system_error>

#include "pulsar_api.pb.h"
#include "wire/errc.h"

namespace shfn::broker {

inline wire::pb::BaseCommand command_of(wire::pb::BaseCommand::Type type) {
  wire::pb::BaseCommand c;
  c.set_type(type);
  return c;
}

// Schemas the broker can honour without a registry: none (bytes) and plain strings, whose
// payload is the value itself. Anything else needs versions and compatibility checks; it is
// refused, never accepted and ignored.
inline std::optional<std::string> unsupported_schema(const wire::pb::Schema& schema,
                                                     bool consuming) {
  switch (schema.type()) {
    case wire::pb::Schema::None:
    case wire::pb::Schema::String:
      return std::nullopt;
    case wire::pb::Schema::AutoConsume:
      if (consuming) return std::nullopt;  // reads what is there: bytes
      [[fallthrough]];
    default:
      return "schema type " + wire::pb::Schema::Type_Name(schema.type()) +
             " is not supported by the shfn broker: it has no schema registry (use bytes or "
             "string, or Apache Pulsar)";
  }
}

inline wire::pb::ServerError server_error_of(std::error_code ec) {
  if (ec.category() == wire::server_category())
    return static_cast<wire::pb::ServerError>(ec.value());
  if (ec == wire::errc::bad_topic_name) return wire::pb::InvalidTopicName;
  return wire::pb::PersistenceError;
}

}  // namespace shfn::broker
