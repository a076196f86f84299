#pragma once
// Internal to the session's parts (session.cc, session_lookup.cc, session_producers.cc,
// session_consumers.cc, session_schemas.cc): a command to fill in and the ServerError an error
// is answered with. Pure functions; nothing outside the session includes it.

#include <system_error>

#include "pulsar_api.pb.h"
#include "wire/errc.h"

namespace shfn::broker {

inline wire::pb::BaseCommand command_of(wire::pb::BaseCommand::Type type) {
  wire::pb::BaseCommand c;
  c.set_type(type);
  return c;
}

inline wire::pb::ServerError server_error_of(std::error_code ec) {
  if (ec.category() == wire::server_category())
    return static_cast<wire::pb::ServerError>(ec.value());
  if (ec == wire::errc::bad_topic_name) return wire::pb::InvalidTopicName;
  return wire::pb::PersistenceError;
}

}  // namespace shfn::broker
