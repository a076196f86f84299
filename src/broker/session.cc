// The connection (session.h): the read, write and keepalive loops, the output buffer, dispatch
// of each command to its handler, CONNECT (and its token), and unsupported commands. The
// handlers are in session_lookup.cc, session_producers.cc and session_consumers.cc.
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
#include "base/version.h"
#include "broker/context.h"
#include "broker/session_protocol.h"
#include "wire/errc.h"

namespace shfn::broker {

namespace pb = wire::pb;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

constexpr int max_protocol_version = pb::v21;

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

}  // namespace

session::session(http::transport transport, topic_registry& topics, broker_context& ctx)
    : transport_(std::move(transport)),
      topics_(topics),
      ctx_(ctx),
      input_(ctx.options.max_message_size + wire::frame_overhead),
      keepalive_timer_(transport_.socket().get_executor()) {}

session::~session() = default;

void session::start() {
  asio::co_spawn(transport_.socket().get_executor(), begin(shared_from_this()), asio::detached);
}

awaitable<void> session::begin(std::shared_ptr<session> self) {
  if (transport_.secure()) {
    // A client that never finishes its handshake is closed after a keepalive period.
    keepalive_timer_.expires_after(ctx_.options.keepalive);
    keepalive_timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
      if (auto s = weak.lock(); s && !ec) s->transport_.close();
    });
    auto failed = co_await transport_.handshake();
    keepalive_timer_.cancel();
    if (failed) {
      spdlog::info("client {}: TLS handshake failed: {}", peer(), *failed);
      close();
      co_return;
    }
  }
  const auto executor = transport_.socket().get_executor();
  asio::co_spawn(executor, read_loop(self), asio::detached);
  asio::co_spawn(executor, write_loop(self), asio::detached);
  asio::co_spawn(executor, keepalive_loop(std::move(self)), asio::detached);
}

std::string session::peer() const {
  std::error_code ec;
  auto ep = transport_.socket().remote_endpoint(ec);
  return ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

void session::close() {
  if (closed_) return;
  closed_ = true;
  // Producers first, then consumers: their unacked entries go back to their subscriptions.
  while (!producers_.empty()) close_producer(producers_.begin()->first);
  while (!consumers_.empty()) close_consumer(consumers_.begin()->first);
  transport_.close();
  keepalive_timer_.cancel();
  output_ready_.notify_all();
}

// ------------------------------------------------------------------------------ I/O

awaitable<void> session::read_loop(std::shared_ptr<session> /*keep_alive*/) {
  while (!closed_) {
    auto space = input_.writable();
    const auto [ec, n] = co_await transport_.read_some(asio::buffer(space.data(), space.size()));
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
      ec = co_await transport_.write(asio::buffer(writing_));
    } else {
      gather_.clear();
      std::size_t from = 0;
      for (const auto& a : attached_writing_) {
        gather_.push_back(asio::buffer(writing_.data() + from, a.at - from));
        gather_.push_back(asio::buffer(a.data));
        from = a.at;
      }
      gather_.push_back(asio::buffer(writing_.data() + from, writing_.size() - from));
      ec = co_await transport_.write(gather_);
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

// Authentication is on with a token key or with trusted client CAs: a valid token (method
// "token"), or a client certificate that verified during the handshake (method "tls", as
// Pulsar's AuthenticationProviderTls).
std::optional<std::string> session::authentication_refusal(const pb::CommandConnect& c) const {
  const bool certificates = !ctx_.options.tls.trust_certs.empty();
  if (!ctx_.authenticator && !certificates) return std::nullopt;
  if (c.auth_method_name() == "tls") {
    if (transport_.common_name()) return std::nullopt;
    return "authentication with TLS needs a client certificate the broker trusts";
  }
  if (c.auth_method_name() == "token" && ctx_.authenticator) {
    if (ctx_.authenticator->verify(c.auth_data(), now_seconds())) return std::nullopt;
    return "the token is not valid";
  }
  return ctx_.authenticator ? "authentication with a token is required"
                            : "authentication with a client certificate is required";
}

void session::on_connect(const pb::CommandConnect& c) {
  if (connected_) {
    spdlog::warn("client {}: second CONNECT; closing", peer());
    close();
    return;
  }
  if (auto refused = authentication_refusal(c)) {
    spdlog::info("client {}: authentication failed: {}", peer(), *refused);
    auto error = command_of(pb::BaseCommand::ERROR);
    error.mutable_error()->set_request_id(std::numeric_limits<std::uint64_t>::max());
    error.mutable_error()->set_error(pb::AuthenticationError);
    error.mutable_error()->set_message(*refused);
    send(error);
    close_after_flush_ = true;
    return;
  }
  connected_ = true;
  auto reply = command_of(pb::BaseCommand::CONNECTED);
  auto* connected = reply.mutable_connected();
  connected->set_server_version("shfn-broker/" + std::string(version()));
  connected->set_protocol_version(std::min(c.protocol_version(), max_protocol_version));
  connected->set_max_message_size(static_cast<std::int32_t>(ctx_.options.max_message_size));
  send(reply);
}

}  // namespace shfn::broker
