#include "broker/session.h"

#include <google/protobuf/unknown_field_set.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <optional>

#include "base/clock.h"
#include "base/log.h"
#include "broker/context.h"
#include "broker/registry.h"
#include "broker/subscription.h"
#include "broker/topic.h"
#include "wire/errc.h"

namespace shfn::broker {

namespace pb = wire::pb;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

constexpr const char* server_version = "shfn-broker/0.1.0";
// Entries this large go out by a gathered write instead of being copied into the output buffer;
// below it a copy is cheaper than another iovec.
constexpr std::size_t gather_above_bytes = 16 * 1024;
constexpr int max_protocol_version = pb::v21;

pb::BaseCommand command_of(pb::BaseCommand::Type type) {
  pb::BaseCommand c;
  c.set_type(type);
  return c;
}

// The request id of a command we do not model (transactions, topic watchers): the command's
// body is the unknown field numbered as its type, and in every such upstream command the
// request id is field 1. Without it the client would wait out its operation timeout.
std::optional<std::uint64_t> unmodelled_request_id(const pb::BaseCommand& c) {
  const auto& unknown = c.GetReflection()->GetUnknownFields(c);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const auto& body = unknown.field(i);
    if (body.number() != c.type() ||
        body.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED)
      continue;
    google::protobuf::UnknownFieldSet fields;
    if (!fields.ParseFromString(body.length_delimited())) return std::nullopt;
    for (int j = 0; j < fields.field_count(); ++j) {
      const auto& f = fields.field(j);
      if (f.number() == 1 && f.type() == google::protobuf::UnknownField::TYPE_VARINT)
        return f.varint();
    }
  }
  return std::nullopt;
}

// The request id of a command that has one, for answering an unsupported command.
std::optional<std::uint64_t> request_id_of(const pb::BaseCommand& c) {
  const auto* descriptor = c.GetDescriptor();
  const auto* reflection = c.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE ||
        !reflection->HasField(c, field))
      continue;
    const auto& inner = reflection->GetMessage(c, field);
    const auto* id = inner.GetDescriptor()->FindFieldByName("request_id");
    if (id != nullptr && id->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_UINT64) {
      return inner.GetReflection()->GetUInt64(inner, id);
    }
  }
  return unmodelled_request_id(c);
}

// Schemas the broker can honour without a registry: none (bytes) and plain strings, whose
// payload is the value itself. Anything else needs versions and compatibility checks; it is
// refused, never accepted and ignored.
std::optional<std::string> unsupported_schema(const pb::Schema& schema, bool consuming) {
  switch (schema.type()) {
    case pb::Schema::None:
    case pb::Schema::String:
      return std::nullopt;
    case pb::Schema::AutoConsume:
      if (consuming) return std::nullopt;  // reads what is there: bytes
      [[fallthrough]];
    default:
      return "schema type " + pb::Schema::Type_Name(schema.type()) +
             " is not supported by the shfn broker: it has no schema registry (use bytes or "
             "string, or Apache Pulsar)";
  }
}

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
  return ec.message();
}

pb::ServerError server_error_of(std::error_code ec) {
  if (ec.category() == wire::server_category()) return static_cast<pb::ServerError>(ec.value());
  if (ec == wire::errc::bad_topic_name) return pb::InvalidTopicName;
  return pb::PersistenceError;
}

}  // namespace

session::session(asio::ip::tcp::socket socket, topic_registry& topics, broker_context& ctx)
    : socket_(std::move(socket)),
      topics_(topics),
      ctx_(ctx),
      input_(ctx.options.max_message_size + wire::frame_overhead),
      keepalive_timer_(socket_.get_executor()) {}

session::~session() = default;

void session::start() {
  asio::co_spawn(socket_.get_executor(), read_loop(shared_from_this()), asio::detached);
  asio::co_spawn(socket_.get_executor(), write_loop(shared_from_this()), asio::detached);
  asio::co_spawn(socket_.get_executor(), keepalive_loop(shared_from_this()), asio::detached);
}

std::string session::peer() const {
  std::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

void session::close() {
  if (closed_) return;
  closed_ = true;
  // Producers first, then consumers: their unacked entries go back to their subscriptions.
  while (!producers_.empty()) close_producer(producers_.begin()->first);
  while (!consumers_.empty()) close_consumer(consumers_.begin()->first);
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  keepalive_timer_.cancel();
  output_ready_.notify_all();
}

// ------------------------------------------------------------------------------ I/O

awaitable<void> session::read_loop(std::shared_ptr<session> /*keep_alive*/) {
  while (!closed_) {
    auto space = input_.writable();
    std::error_code ec;
    const std::size_t n = co_await socket_.async_read_some(asio::buffer(space.data(), space.size()),
                                                           redirect_error(use_awaitable, ec));
    if (ec) break;
    input_.commit(n);
    received_since_ping_ = true;
    while (!closed_) {
      auto f = input_.next();
      if (!f) {
        // A corrupt stream cannot be resynchronised: drop the connection, keep the broker.
        spdlog::warn("client {}: malformed frame ({}); closing the connection", peer(),
                     f.error().message());
        close();
        co_return;
      }
      if (!f->has_value()) break;
      handle(**f);
    }
  }
  close();
}

awaitable<void> session::write_loop(std::shared_ptr<session> /*keep_alive*/) {
  while (!closed_) {
    if (output_.empty()) {
      co_await output_ready_.wait();
      continue;
    }
    std::swap(output_, writing_);
    std::swap(attached_, attached_writing_);
    std::error_code ec;
    if (attached_writing_.empty()) {
      co_await asio::async_write(socket_, asio::buffer(writing_),
                                 redirect_error(use_awaitable, ec));
    } else {
      gather_.clear();
      std::size_t from = 0;
      for (const auto& a : attached_writing_) {
        gather_.push_back(asio::buffer(writing_.data() + from, a.at - from));
        gather_.push_back(asio::buffer(a.data));
        from = a.at;
      }
      gather_.push_back(asio::buffer(writing_.data() + from, writing_.size() - from));
      co_await asio::async_write(socket_, gather_, redirect_error(use_awaitable, ec));
      attached_writing_.clear();
    }
    writing_.clear();
    if (ec || (close_after_flush_ && output_.empty())) close();
  }
}

awaitable<void> session::keepalive_loop(std::shared_ptr<session> /*keep_alive*/) {
  bool pinged = false;
  while (!closed_) {
    keepalive_timer_.expires_after(ctx_.options.keepalive);
    std::error_code ec;
    co_await keepalive_timer_.async_wait(redirect_error(use_awaitable, ec));
    if (closed_) break;
    if (received_since_ping_) {
      received_since_ping_ = false;
      pinged = false;
      continue;
    }
    if (pinged) {
      spdlog::info("client {}: no answer to a ping; closing the connection", peer());
      close();
      break;
    }
    auto ping = command_of(pb::BaseCommand::PING);
    ping.mutable_ping();
    send(ping);
    pinged = true;
  }
}

void session::send(const pb::BaseCommand& command) {
  if (closed_) return;
  wire::append_command(output_, command);
  output_ready_.notify_all();
}

void session::send_success(std::uint64_t request_id) {
  auto c = command_of(pb::BaseCommand::SUCCESS);
  c.mutable_success()->set_request_id(request_id);
  send(c);
}

void session::send_request_error(std::uint64_t request_id, std::error_code error) {
  send_request_error(request_id, server_error_of(error), error.message());
}

void session::send_request_error(std::uint64_t request_id, pb::ServerError error,
                                 const std::string& message) {
  auto c = command_of(pb::BaseCommand::ERROR);
  c.mutable_error()->set_request_id(request_id);
  c.mutable_error()->set_error(error);
  c.mutable_error()->set_message(message);
  send(c);
}

// ------------------------------------------------------------------------------ dispatch

void session::handle(const wire::frame& f) {
  const auto& c = f.command;
  if (close_after_flush_) return;  // refused; nothing more is heard
  if (!connected_ && c.type() != pb::BaseCommand::CONNECT) {
    spdlog::warn("client {}: {} before CONNECT; closing", peer(),
                 pb::BaseCommand::Type_Name(c.type()));
    close();
    return;
  }
  switch (c.type()) {
    case pb::BaseCommand::CONNECT:
      return on_connect(c.connect());
    case pb::BaseCommand::PING: {
      // With its (empty) body: the Java client checks hasPong() and drops a connection without.
      auto pong = command_of(pb::BaseCommand::PONG);
      pong.mutable_pong();
      return send(pong);
    }
    case pb::BaseCommand::PONG:
      return;
    case pb::BaseCommand::LOOKUP:
      return on_lookup(c.lookuptopic());
    case pb::BaseCommand::PARTITIONED_METADATA:
      return on_partitioned_metadata(c.partitionmetadata());
    case pb::BaseCommand::GET_TOPICS_OF_NAMESPACE:
      return on_get_topics_of_namespace(c.gettopicsofnamespace());
    case pb::BaseCommand::PRODUCER:
      return on_producer(c.producer());
    case pb::BaseCommand::SEND:
      return on_send(f);
    case pb::BaseCommand::CLOSE_PRODUCER:
      return on_close_producer(c.close_producer());
    case pb::BaseCommand::SUBSCRIBE:
      return on_subscribe(c.subscribe());
    case pb::BaseCommand::FLOW:
      return on_flow(c.flow());
    case pb::BaseCommand::ACK:
      return on_ack(c.ack());
    case pb::BaseCommand::REDELIVER_UNACKNOWLEDGED_MESSAGES:
      return on_redeliver(c.redeliverunacknowledgedmessages());
    case pb::BaseCommand::CLOSE_CONSUMER:
      return on_close_consumer(c.close_consumer());
    case pb::BaseCommand::UNSUBSCRIBE:
      return on_unsubscribe(c.unsubscribe());
    case pb::BaseCommand::GET_LAST_MESSAGE_ID:
      return on_get_last_message_id(c.getlastmessageid());
    case pb::BaseCommand::SEEK:
      return on_seek(c.seek());
    case pb::BaseCommand::CONSUMER_STATS:
      return on_consumer_stats(c.consumerstats());
    case pb::BaseCommand::GET_SCHEMA:
      return on_get_schema(c.getschema());
    case pb::BaseCommand::GET_OR_CREATE_SCHEMA:
      return on_get_or_create_schema(c.getorcreateschema());
    default:
      return on_unsupported(c);
  }
}

void session::on_unsupported(const pb::BaseCommand& c) {
  const std::string name = pb::BaseCommand::Type_Name(c.type());
  spdlog::warn("client {}: unsupported command {}", peer(), name);
  const auto request_id = request_id_of(c);
  if (!request_id) return;  // a command without one (AUTH_RESPONSE...): nobody waits for it
  auto error = command_of(pb::BaseCommand::ERROR);
  error.mutable_error()->set_request_id(*request_id);
  error.mutable_error()->set_error(pb::NotAllowedError);
  error.mutable_error()->set_message("command " + name + " is not supported by the shfn broker");
  send(error);
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

// No schema is ever stored, so every topic is one "without a schema", answered as Pulsar
// answers for such a topic (TopicNotFound): clients then read bytes, as they would there.
void session::on_get_schema(const pb::CommandGetSchema& c) {
  auto reply = command_of(pb::BaseCommand::GET_SCHEMA_RESPONSE);
  auto* r = reply.mutable_getschemaresponse();
  r->set_request_id(c.request_id());
  r->set_error_code(pb::TopicNotFound);
  r->set_error_message("the topic has no schema: the shfn broker keeps no schema registry");
  send(reply);
}

void session::on_get_or_create_schema(const pb::CommandGetOrCreateSchema& c) {
  auto reply = command_of(pb::BaseCommand::GET_OR_CREATE_SCHEMA_RESPONSE);
  auto* r = reply.mutable_getorcreateschemaresponse();
  r->set_request_id(c.request_id());
  if (auto refused = unsupported_schema(c.schema(), /*consuming=*/false)) {
    r->set_error_code(pb::NotAllowedError);
    r->set_error_message(*refused);
  } else {
    r->set_schema_version("");
  }
  send(reply);
}

void session::on_connect(const pb::CommandConnect& c) {
  if (connected_) {
    spdlog::warn("client {}: second CONNECT; closing", peer());
    close();
    return;
  }
  if (ctx_.authenticator) {
    const auto now = now_seconds();
    auto role = c.auth_method_name() == "token"
                    ? ctx_.authenticator->verify(c.auth_data(), now)
                    : result<std::string>(fail(wire::server_error(pb::AuthenticationError)));
    if (!role) {
      spdlog::info("client {}: authentication failed", peer());
      auto error = command_of(pb::BaseCommand::ERROR);
      error.mutable_error()->set_request_id(std::numeric_limits<std::uint64_t>::max());
      error.mutable_error()->set_error(pb::AuthenticationError);
      error.mutable_error()->set_message(c.auth_method_name() == "token"
                                             ? "the token is not valid"
                                             : "authentication with a token is required");
      send(error);
      close_after_flush_ = true;
      return;
    }
  }
  connected_ = true;
  auto reply = command_of(pb::BaseCommand::CONNECTED);
  auto* connected = reply.mutable_connected();
  connected->set_server_version(server_version);
  connected->set_protocol_version(std::min(c.protocol_version(), max_protocol_version));
  connected->set_max_message_size(static_cast<std::int32_t>(ctx_.options.max_message_size));
  send(reply);
}

void session::on_lookup(const pb::CommandLookupTopic& c) {
  auto reply = command_of(pb::BaseCommand::LOOKUP_RESPONSE);
  auto* r = reply.mutable_lookuptopicresponse();
  r->set_request_id(c.request_id());
  if (auto name = wire::parse_topic_name(c.topic()); !name) {
    r->set_response(pb::CommandLookupTopicResponse::Failed);
    r->set_error(pb::InvalidTopicName);
    r->set_message(name.error().message() + ": " + c.topic());
    return send(reply);
  }
  // Single node: every topic is here, at the address the client reached us on.
  std::error_code ec;
  const auto local = socket_.local_endpoint(ec);
  r->set_response(pb::CommandLookupTopicResponse::Connect);
  r->set_brokerserviceurl(pulsar_url(local));
  r->set_authoritative(true);
  send(reply);
}

void session::on_partitioned_metadata(const pb::CommandPartitionedTopicMetadata& c) {
  auto reply = command_of(pb::BaseCommand::PARTITIONED_METADATA_RESPONSE);
  auto* r = reply.mutable_partitionmetadataresponse();
  r->set_request_id(c.request_id());
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

// ------------------------------------------------------------------------------ producers

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
  if (c.has_schema()) {
    if (auto refused = unsupported_schema(c.schema(), /*consuming=*/false)) {
      spdlog::info("client {}: producer on {} refused: {}", peer(), c.topic(), *refused);
      return send_request_error(c.request_id(), pb::NotAllowedError, *refused);
    }
  }
  const auto parsed = wire::parse_topic_name(c.topic());
  if (ctx_.disk.full() && parsed && parsed->persistent) return refuse_on_full_disk(c);
  auto t = topics_.get(c.topic());
  if (!t && ctx_.disk_full_after(t.error())) return refuse_on_full_disk(c);
  if (!t) return send_request_error(c.request_id(), t.error());
  const std::string name = c.has_producer_name() && !c.producer_name().empty()
                               ? c.producer_name()
                               : ctx_.next_producer_name();
  auto admitted = (*t)->add_producer(
      {.name = name,
       .link = weak_from_this(),
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
                                 .ready = admitted->ready};
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
  if (auto it = producers_.find(producer_id); it != producers_.end() && s.ready) {
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
  r->set_schema_version("");
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

// ------------------------------------------------------------------------------ consumers

session::consumer_handle* session::find_consumer(std::uint64_t consumer_id) {
  auto it = consumers_.find(consumer_id);
  return it == consumers_.end() ? nullptr : &it->second;
}

void session::on_subscribe(const pb::CommandSubscribe& c) {
  if (find_consumer(c.consumer_id()) != nullptr) return send_success(c.request_id());
  if (c.has_schema()) {
    if (auto refused = unsupported_schema(c.schema(), /*consuming=*/true)) {
      spdlog::info("client {}: consumer on {} refused: {}", peer(), c.topic(), *refused);
      return send_request_error(c.request_id(), pb::NotAllowedError, *refused);
    }
  }
  auto t = topics_.get(c.topic());
  if (!t) return send_request_error(c.request_id(), t.error());
  subscription* sub = nullptr;
  auto attached = (*t)->subscribe(c, this, &sub);
  if (!attached) return send_request_error(c.request_id(), attached.error());
  consumers_[c.consumer_id()] = {.owner = *t, .sub = sub, .c = *attached};
  send_success(c.request_id());
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
  const wire::message_id last = h->owner->last_message_id();
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

}  // namespace shfn::broker
