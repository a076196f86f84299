// The session's consumers: SUBSCRIBE, FLOW, ACK, redelivery, CLOSE_CONSUMER, UNSUBSCRIBE,
// GET_LAST_MESSAGE_ID, SEEK, CONSUMER_STATS, and what their subscriptions send back through
// consumer_link (messages, active-consumer changes, closes).
#include <algorithm>
#include <limits>

#include "base/log.h"
#include "broker/registry.h"
#include "broker/session.h"
#include "broker/session_protocol.h"
#include "broker/subscription.h"
#include "broker/topic.h"

namespace shfn::broker {

namespace pb = wire::pb;

namespace {

// Entries this large go out by a gathered write instead of being copied into the output buffer;
// below it a copy is cheaper than another iovec.
constexpr std::size_t gather_above_bytes = 16 * 1024;

}  // namespace

session::consumer_handle* session::find_consumer(std::uint64_t consumer_id) {
  auto it = consumers_.find(consumer_id);
  return it == consumers_.end() ? nullptr : &it->second;
}

void session::on_subscribe(const pb::CommandSubscribe& c) {
  if (find_consumer(c.consumer_id()) != nullptr) return send_success(c.request_id());
  const bool one_reader = c.subtype() == pb::CommandSubscribe::Exclusive ||
                          c.subtype() == pb::CommandSubscribe::Failover;
  if (c.read_compacted() && !one_reader) {  // as Pulsar refuses it, in Pulsar's words
    return send_request_error(c.request_id(), pb::NotAllowedError,
                              "readCompacted only allowed on failover or exclusive subscriptions");
  }
  auto t = topics_.get(c.topic());
  if (!t) return send_request_error(c.request_id(), t.error());
  if (auto refused = admit_consumer_schema(c, **t)) {
    return refuse_schema(c.request_id(), c.topic(), *refused);
  }
  subscription* sub = nullptr;
  auto attached = (*t)->subscribe(c, this, &sub);
  if (!attached) return send_request_error(c.request_id(), attached.error());
  consumers_[c.consumer_id()] = {.owner = *t, .sub = sub, .c = *attached};
  send_success(c.request_id());
  sub->welcome(*attached);
}

void session::on_flow(const pb::CommandFlow& c) {
  if (auto* h = find_consumer(c.consumer_id())) h->sub->flow(h->c, c.messagepermits());
}

void session::on_ack(const pb::CommandAck& c) {
  auto* h = find_consumer(c.consumer_id());
  if (h != nullptr) h->sub->acknowledge(h->c, c);
  if (!c.has_request_id()) return;
  auto reply = command_of(pb::BaseCommand::ACK_RESPONSE);
  reply.mutable_ackresponse()->set_consumer_id(c.consumer_id());
  reply.mutable_ackresponse()->set_request_id(c.request_id());
  if (h == nullptr) {
    reply.mutable_ackresponse()->set_error(pb::ConsumerNotFound);
    reply.mutable_ackresponse()->set_message("no such consumer");
  }
  send(reply);
}

void session::on_redeliver(const pb::CommandRedeliverUnacknowledgedMessages& c) {
  auto* h = find_consumer(c.consumer_id());
  if (h == nullptr) return;
  std::vector<std::uint64_t> offsets;
  for (const auto& id : c.message_ids()) {
    if (auto offset = offset_of(id, h->owner->ledger_id())) offsets.push_back(*offset);
  }
  h->sub->redeliver(h->c, offsets);
}

void session::on_close_consumer(const pb::CommandCloseConsumer& c) {
  close_consumer(c.consumer_id());
  send_success(c.request_id());
}

void session::close_consumer(std::uint64_t consumer_id) {
  auto it = consumers_.find(consumer_id);
  if (it == consumers_.end()) return;
  consumer_handle h = it->second;
  consumers_.erase(it);
  h.owner->detach(h.sub, h.c);
}

void session::on_unsubscribe(const pb::CommandUnsubscribe& c) {
  auto* h = find_consumer(c.consumer_id());
  if (h == nullptr)
    return send_request_error(c.request_id(), wire::server_error(pb::ConsumerNotFound));
  consumer_handle handle = *h;
  auto ok = handle.owner->unsubscribe(handle.sub, handle.c);
  if (!ok) return send_request_error(c.request_id(), ok.error());
  consumers_.erase(c.consumer_id());
  send_success(c.request_id());
}

void session::on_get_last_message_id(const pb::CommandGetLastMessageId& c) {
  auto* h = find_consumer(c.consumer_id());
  if (h == nullptr)
    return send_request_error(c.request_id(), wire::server_error(pb::ConsumerNotFound));
  auto reply = command_of(pb::BaseCommand::GET_LAST_MESSAGE_ID_RESPONSE);
  auto* r = reply.mutable_getlastmessageidresponse();
  r->set_request_id(c.request_id());
  const wire::message_id last = h->owner->last_message_id(h->c->reads_compacted);
  last.to_pb(*r->mutable_last_message_id());
  if (last.batch_index >= 0) r->mutable_last_message_id()->set_batch_index(last.batch_index);
  const std::uint64_t mark_delete = h->sub->mark_delete();
  const wire::message_id position{.ledger = h->owner->ledger_id(),
                                  .entry = static_cast<std::int64_t>(mark_delete) - 1,
                                  .partition = h->owner->partition()};
  position.to_pb(*r->mutable_consumer_mark_delete_position());
  send(reply);
}

void session::on_seek(const pb::CommandSeek& c) {
  auto* h = find_consumer(c.consumer_id());
  if (h == nullptr)
    return send_request_error(c.request_id(), wire::server_error(pb::ConsumerNotFound));
  std::uint64_t offset = 0;
  if (c.has_message_publish_time()) {
    auto found = h->owner->offset_at_time(c.message_publish_time());
    if (!found) return send_request_error(c.request_id(), found.error());
    offset = *found;
  } else if (c.has_message_id()) {
    // Inclusive, as Pulsar's: the next message is the one named. Earliest is (-1, -1), latest
    // (INT64_MAX, INT64_MAX); neither names an entry of our ledger.
    const auto& id = c.message_id();
    const bool latest = id.ledgerid() == std::numeric_limits<std::int64_t>::max();
    offset = offset_of(id, h->owner->ledger_id()).value_or(latest ? h->owner->end_offset() : 0);
  } else {
    return send_request_error(c.request_id(), wire::server_error(pb::NotAllowedError));
  }
  // As Pulsar: the consumers are closed first (CLOSE_CONSUMER), then the seek is answered. The
  // C++ client subscribes again from the sought position only while its seek is still pending;
  // answered first, it resubscribes from its own last position and skips messages.
  if (auto ok = h->sub->seek(offset); !ok) {
    spdlog::warn("client {}: seek failed: {}", peer(), ok.error().message());
    return send_request_error(c.request_id(), ok.error());
  }
  send_success(c.request_id());
}

// The C++ client's getBrokerConsumerStats() waits for this response type; an ERROR never
// reaches it.
void session::on_consumer_stats(const pb::CommandConsumerStats& c) {
  auto reply = command_of(pb::BaseCommand::CONSUMER_STATS_RESPONSE);
  auto* r = reply.mutable_consumerstatsresponse();
  r->set_request_id(c.request_id());
  auto* h = find_consumer(c.consumer_id());
  if (h == nullptr) {
    r->set_error_code(pb::ConsumerNotFound);
    r->set_error_message("no such consumer");
    return send(reply);
  }
  r->set_consumername(h->c->name);
  r->set_availablepermits(static_cast<std::uint64_t>(std::max<std::int64_t>(0, h->c->permits)));
  std::uint64_t unacked = 0;
  for (const auto& [offset, sent] : h->c->unacked)
    unacked += static_cast<std::uint64_t>(sent.messages);
  r->set_unackedmessages(unacked);
  r->set_msgbacklog(h->sub->backlog());
  r->set_type(pb::CommandSubscribe::SubType_Name(h->sub->type()));
  r->set_address(peer());
  send(reply);
}

void session::send_message(std::uint64_t consumer_id, const wire::message_id& id,
                           std::uint32_t redelivery_count, bytes entry) {
  if (closed_) return;
  auto c = command_of(pb::BaseCommand::MESSAGE);
  auto* m = c.mutable_message();
  m->set_consumer_id(consumer_id);
  id.to_pb(*m->mutable_message_id());
  if (redelivery_count > 0) m->set_redelivery_count(redelivery_count);
  if (entry.size() < gather_above_bytes) {
    wire::append_stored_payload_command(output_, c, entry);
  } else {
    wire::append_stored_payload_head(output_, c, entry);
    attached_.push_back({.at = output_.size(), .data = std::move(entry)});
  }
  output_ready_.notify_all();
}

void session::send_active_consumer_change(std::uint64_t consumer_id, bool active) {
  auto c = command_of(pb::BaseCommand::ACTIVE_CONSUMER_CHANGE);
  c.mutable_active_consumer_change()->set_consumer_id(consumer_id);
  c.mutable_active_consumer_change()->set_is_active(active);
  send(c);
}

void session::send_close_consumer(std::uint64_t consumer_id) {
  consumers_.erase(consumer_id);
  auto c = command_of(pb::BaseCommand::CLOSE_CONSUMER);
  c.mutable_close_consumer()->set_consumer_id(consumer_id);
  c.mutable_close_consumer()->set_request_id(0);
  send(c);
}

void session::send_reached_end_of_topic(std::uint64_t consumer_id) {
  auto c = command_of(pb::BaseCommand::REACHED_END_OF_TOPIC);
  c.mutable_reachedendoftopic()->set_consumer_id(consumer_id);
  send(c);
}

}  // namespace shfn::broker
