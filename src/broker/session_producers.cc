// The session's producers: PRODUCER (access modes, schemas, a full disk), SEND, CLOSE_PRODUCER,
// and what their topics send back through producer_link (receipts, send errors, closes).
#include "base/log.h"
#include "broker/context.h"
#include "broker/registry.h"
#include "broker/session.h"
#include "broker/session_protocol.h"
#include "broker/topic.h"
#include "wire/errc.h"

namespace shfn::broker {

namespace pb = wire::pb;

namespace {

// Pulsar's words for a refused producer, so users of its clients recognise them.
std::string producer_refusal(std::error_code ec, pb::ProducerAccessMode mode) {
  if (ec == wire::server_error(pb::ProducerBusy) && mode == pb::Shared) {
    return "Topic has an existing exclusive producer";
  }
  if (ec == wire::server_error(pb::ProducerFenced)) {
    return mode == pb::Shared ? "Producer was fenced: its topic epoch is stale"
                              : "Topic has an existing producer (" +
                                    pb::ProducerAccessMode_Name(mode) + " was asked for)";
  }
  if (ec == wire::server_error(pb::TopicTerminatedError)) return "Topic was already terminated";
  return ec.message();
}

}  // namespace

void session::on_producer(const pb::CommandProducer& c) {
  if (auto it = producers_.find(c.producer_id()); it != producers_.end()) {
    if (!it->second.ready) {
      // Still queued behind an exclusive producer: not ready, as Pulsar answers.
      return send_request_error(c.request_id(), pb::ServiceNotReady,
                                "the producer is waiting for exclusive access to the topic");
    }
    // A retried PRODUCER for a producer that already exists: it is ready, as first answered.
    return send_producer_success(c.producer_id(), {.request_id = c.request_id(),
                                                   .producer_name = it->second.name,
                                                   .last_sequence_id = it->second.last_sequence_id,
                                                   .topic_epoch = it->second.topic_epoch});
  }
  const auto parsed = wire::parse_topic_name(c.topic());
  if (ctx_.disk.full() && parsed && parsed->persistent) return refuse_on_full_disk(c);
  auto t = topics_.get(c.topic());
  if (!t && ctx_.disk_full_after(t.error())) return refuse_on_full_disk(c);
  if (!t) return send_request_error(c.request_id(), t.error());
  auto schema_version = producer_schema_version(c.has_schema(), c.schema(), (*t)->name_parts());
  if (!schema_version) return refuse_schema(c.request_id(), c.topic(), schema_version.error());
  const std::string name = c.has_producer_name() && !c.producer_name().empty()
                               ? c.producer_name()
                               : ctx_.next_producer_name();
  auto admitted = (*t)->add_producer(
      {.name = name,
       .link = weak_from_this(),
       .address = peer(),
       .producer_id = c.producer_id(),
       .request_id = c.request_id(),
       .access = c.producer_access_mode(),
       .topic_epoch = c.has_topic_epoch() ? std::optional(c.topic_epoch()) : std::nullopt});
  if (!admitted) {
    return send_request_error(c.request_id(), server_error_of(admitted.error()),
                              producer_refusal(admitted.error(), c.producer_access_mode()));
  }
  producers_[c.producer_id()] = {.owner = *t,
                                 .name = name,
                                 .last_sequence_id = admitted->last_sequence_id,
                                 .topic_epoch = admitted->topic_epoch,
                                 .ready = admitted->ready,
                                 .schema_version = std::move(*schema_version)};
  send_producer_success(c.producer_id(), *admitted);
}

// ProducerBlockedQuotaExceededException, as Pulsar answers a producer over its backlog quota:
// every client fails the sends it holds at once and keeps re-creating the producer (disk_space.h).
void session::refuse_on_full_disk(const pb::CommandProducer& c) {
  spdlog::info("client {}: producer on {} refused: {}", peer(), c.topic(), ctx_.disk.refusal());
  send_request_error(c.request_id(), pb::ProducerBlockedQuotaExceededException,
                     ctx_.disk.refusal());
}

void session::send_producer_success(std::uint64_t producer_id, const producer_success& s) {
  auto it = producers_.find(producer_id);
  if (it != producers_.end() && s.ready) {
    it->second.topic_epoch = s.topic_epoch;
    it->second.ready = true;
  }
  auto reply = command_of(pb::BaseCommand::PRODUCER_SUCCESS);
  auto* r = reply.mutable_producer_success();
  r->set_request_id(s.request_id);
  r->set_producer_name(s.producer_name);
  r->set_last_sequence_id(s.last_sequence_id);
  // Always present, empty without a schema, as Pulsar sends it: the Java client reads it
  // unconditionally and fails the producer when it is missing.
  r->set_schema_version(it != producers_.end() ? it->second.schema_version : std::string());
  if (s.topic_epoch) r->set_topic_epoch(*s.topic_epoch);
  if (!s.ready) r->set_producer_ready(false);
  send(reply);
}

void session::on_send(const wire::frame& f) {
  const auto& c = f.command.send();
  auto it = producers_.find(c.producer_id());
  // SENDs that crossed our CLOSE_PRODUCER (fenced, topic deleted) are dropped without a word, as
  // Pulsar does: the client resends them once it has the producer back, and an error here
  // would make the C++ client drop the whole connection.
  if (it == producers_.end() && closed_producers_.contains(c.producer_id())) return;
  if (it == producers_.end() || !f.metadata) {
    send_error(c.producer_id(), c.sequence_id(), pb::NotAllowedError,
               it == producers_.end() ? "no such producer" : "SEND without a payload");
    return;
  }
  publish_request request{.link = weak_from_this(),
                          .producer_id = c.producer_id(),
                          .producer_name = it->second.name,
                          .sequence_id = c.sequence_id(),
                          .highest_sequence_id = c.highest_sequence_id()};
  it->second.owner->publish(f, std::move(request));
}

// Answered once the producer's sends in flight have their receipts, as Pulsar does: the clients
// fail whatever is still waiting when the close is answered, and an application that resends
// a failed message would store it twice.
void session::on_close_producer(const pb::CommandCloseProducer& c) {
  auto it = producers_.find(c.producer_id());
  if (it == producers_.end()) return send_success(c.request_id());
  const std::shared_ptr<topic> owner = it->second.owner;
  close_producer(c.producer_id());
  owner->after_pending_answers([self = weak_from_this(), request_id = c.request_id()] {
    if (auto s = self.lock()) s->send_success(request_id);
  });
}

void session::close_producer(std::uint64_t producer_id) {
  auto it = producers_.find(producer_id);
  if (it == producers_.end()) return;
  it->second.owner->remove_producer(it->second.name);
  producers_.erase(it);
}

void session::send_receipt(std::uint64_t producer_id, std::uint64_t sequence_id,
                           std::uint64_t highest_sequence_id, const wire::message_id& id) {
  auto c = command_of(pb::BaseCommand::SEND_RECEIPT);
  auto* r = c.mutable_send_receipt();
  r->set_producer_id(producer_id);
  r->set_sequence_id(sequence_id);
  r->set_highest_sequence_id(highest_sequence_id);
  id.to_pb(*r->mutable_message_id());
  send(c);
}

void session::send_error(std::uint64_t producer_id, std::uint64_t sequence_id,
                         pb::ServerError error, const std::string& message) {
  auto c = command_of(pb::BaseCommand::SEND_ERROR);
  auto* r = c.mutable_send_error();
  r->set_producer_id(producer_id);
  r->set_sequence_id(sequence_id);
  r->set_error(error);
  r->set_message(message);
  send(c);
}

void session::send_close_producer(std::uint64_t producer_id) {
  producers_.erase(producer_id);
  closed_producers_.insert(producer_id);
  auto c = command_of(pb::BaseCommand::CLOSE_PRODUCER);
  c.mutable_close_producer()->set_producer_id(producer_id);
  c.mutable_close_producer()->set_request_id(0);
  send(c);
}

}  // namespace shfn::broker
