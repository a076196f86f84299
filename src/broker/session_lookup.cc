// The session's answers about topics rather than messages: LOOKUP, PARTITIONED_METADATA,
// GET_TOPICS_OF_NAMESPACE.
#include "base/log.h"
#include "broker/context.h"
#include "broker/registry.h"
#include "broker/session.h"
#include "broker/session_protocol.h"
#include "wire/topic_name.h"

namespace shfn::broker {

namespace pb = wire::pb;

namespace {

std::string no_namespace_message(const wire::topic_name& t) {
  return "Namespace not found: " + t.tenant + "/" + t.ns +
         " (create it with pulsar-admin namespaces create)";
}

}  // namespace

void session::on_lookup(const pb::CommandLookupTopic& c) {
  auto reply = command_of(pb::BaseCommand::LOOKUP_RESPONSE);
  auto* r = reply.mutable_lookuptopicresponse();
  r->set_request_id(c.request_id());
  if (auto name = wire::parse_topic_name(c.topic()); !name) {
    r->set_response(pb::CommandLookupTopicResponse::Failed);
    r->set_error(pb::InvalidTopicName);
    r->set_message(name.error().message() + ": " + c.topic());
    return send(reply);
  } else if (auto admitted = topics_.admits(*name); !admitted) {
    r->set_response(pb::CommandLookupTopicResponse::Failed);
    r->set_error(pb::TopicNotFound);
    r->set_message(no_namespace_message(*name));
    return send(reply);
  }
  // Single node: every topic is here, at the address the client reached us on.
  std::error_code ec;
  const auto local = transport_.socket().local_endpoint(ec);
  r->set_response(pb::CommandLookupTopicResponse::Connect);
  if (transport_.secure()) {
    r->set_brokerserviceurl(ctx_.service_url);
    r->set_brokerserviceurltls(pulsar_url(local, /*tls=*/true));
  } else {
    r->set_brokerserviceurl(pulsar_url(local));
    if (!ctx_.tls_service_url.empty()) r->set_brokerserviceurltls(ctx_.tls_service_url);
  }
  r->set_authoritative(true);
  send(reply);
}

void session::on_partitioned_metadata(const pb::CommandPartitionedTopicMetadata& c) {
  auto reply = command_of(pb::BaseCommand::PARTITIONED_METADATA_RESPONSE);
  auto* r = reply.mutable_partitionmetadataresponse();
  r->set_request_id(c.request_id());
  if (auto name = wire::parse_topic_name(c.topic()); name && !topics_.admits(*name)) {
    r->set_response(pb::CommandPartitionedTopicMetadataResponse::Failed);
    r->set_error(pb::TopicNotFound);
    r->set_message(no_namespace_message(*name));
    return send(reply);
  }
  auto partitions = topics_.partitions(c.topic());
  if (!partitions) {
    r->set_response(pb::CommandPartitionedTopicMetadataResponse::Failed);
    r->set_error(server_error_of(partitions.error()));
    r->set_message(partitions.error().message());
  } else {
    r->set_response(pb::CommandPartitionedTopicMetadataResponse::Success);
    r->set_partitions(static_cast<std::uint32_t>(*partitions));
  }
  send(reply);
}

// Answers with every topic of the namespace in the modes' domains (registry::list_domain). A
// topics_pattern is not applied here (filtered stays false, so clients match themselves, as
// they must with any broker that does not filter): std::regex backtracks, and a pattern from
// any client would run on the broker's only thread. No topics_hash either: clients then take
// the list as changed, which is always correct.
void session::on_get_topics_of_namespace(const pb::CommandGetTopicsOfNamespace& c) {
  const std::string& ns = c.namespace_();
  const auto slash = ns.find('/');
  const bool valid = slash != std::string::npos &&
                     wire::parse_topic_name("persistent://" + ns + "/probe").has_value();
  if (!valid) {
    auto error = command_of(pb::BaseCommand::ERROR);
    error.mutable_error()->set_request_id(c.request_id());
    error.mutable_error()->set_error(pb::MetadataError);
    error.mutable_error()->set_message("invalid namespace name: " + ns);
    return send(error);
  }
  const std::string tenant = ns.substr(0, slash);
  const std::string name = ns.substr(slash + 1);
  auto reply = command_of(pb::BaseCommand::GET_TOPICS_OF_NAMESPACE_RESPONSE);
  auto* r = reply.mutable_gettopicsofnamespaceresponse();
  r->set_request_id(c.request_id());
  const auto mode = c.mode();
  for (const bool persistent : {true, false}) {
    const bool wanted = mode == pb::CommandGetTopicsOfNamespace::ALL ||
                        (mode == pb::CommandGetTopicsOfNamespace::PERSISTENT) == persistent;
    if (!wanted) continue;
    for (auto& topic : topics_.list_domain(persistent, tenant, name)) {
      r->add_topics(std::move(topic));
    }
  }
  send(reply);
}

}  // namespace shfn::broker
