#include "client/connection.h"

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <charconv>

#include "base/log.h"
#include "base/version.h"
#include "client/errc.h"

namespace shfn::client {

namespace pb = wire::pb;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

constexpr std::uint64_t handshake_request_id = 0;
// Frames up to four times the default message size are accepted before CONNECTED says more.
constexpr std::size_t max_frame = wire::default_max_message_size * 4 + wire::frame_overhead;

std::string client_version() {
  return "shfn/" + std::string(version());
}

// Which request a response answers; nullopt for commands that are not responses.
std::optional<std::uint64_t> response_request_id(const pb::BaseCommand& c) {
  switch (c.type()) {
    case pb::BaseCommand::SUCCESS:
      return c.success().request_id();
    case pb::BaseCommand::ERROR:
      return c.error().request_id();
    case pb::BaseCommand::PRODUCER_SUCCESS:
      return c.producer_success().request_id();
    case pb::BaseCommand::LOOKUP_RESPONSE:
      return c.lookuptopicresponse().request_id();
    case pb::BaseCommand::PARTITIONED_METADATA_RESPONSE:
      return c.partitionmetadataresponse().request_id();
    case pb::BaseCommand::GET_LAST_MESSAGE_ID_RESPONSE:
      return c.getlastmessageidresponse().request_id();
    case pb::BaseCommand::CONSUMER_STATS_RESPONSE:
      return c.consumerstatsresponse().request_id();
    case pb::BaseCommand::GET_TOPICS_OF_NAMESPACE_RESPONSE:
      return c.gettopicsofnamespaceresponse().request_id();
    case pb::BaseCommand::ACK_RESPONSE:
      return c.ackresponse().request_id();
    default:
      return std::nullopt;
  }
}

}  // namespace

connection::connection(private_tag, asio::any_io_executor ex, broker_address address,
                       const client_options& options)
    : executor_(ex),
      address_(std::move(address)),
      options_(options),
      socket_(ex),
      keepalive_timer_(ex) {}

connection::~connection() = default;

awaitable<result<std::shared_ptr<connection>>> connection::open(broker_address address,
                                                                const client_options* options,
                                                                asio::ssl::context* tls) {
  auto ex = co_await asio::this_coro::executor;
  auto conn = std::make_shared<connection>(private_tag{}, ex, std::move(address), *options);
  if (auto ok = co_await conn->connect_socket(tls); !ok) co_return fail(ok.error());
  asio::co_spawn(ex, conn->read_loop(conn), asio::detached);
  asio::co_spawn(ex, conn->write_loop(conn), asio::detached);
  if (auto ok = co_await conn->handshake(); !ok) {
    conn->close();
    co_return fail(ok.error());
  }
  asio::co_spawn(ex, conn->keepalive_loop(conn), asio::detached);
  spdlog::debug("connected to {} (protocol v{})", conn->address_.str(), conn->protocol_version_);
  co_return conn;
}

awaitable<result<void>> connection::connect_socket(asio::ssl::context* tls) {
  // One deadline covers resolve, connect and the TLS handshake: closing the socket aborts them.
  asio::steady_timer deadline(executor_, options_.connect_timeout);
  auto timed_out = std::make_shared<bool>(false);
  deadline.async_wait([weak = weak_from_this(), timed_out](std::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    *timed_out = true;
    std::error_code ignored;
    self->socket_.close(ignored);
  });
  std::error_code ec;
  // A numeric address needs no resolver: Asio's runs getaddrinfo on a thread of its own, which
  // would make the whole process multi-threaded (and every malloc and free dearer) for good.
  std::error_code not_numeric;
  const auto ip = asio::ip::make_address(address_.host, not_numeric);
  int port = 0;
  const bool numeric_port =
      std::from_chars(address_.port.data(), address_.port.data() + address_.port.size(), port)
              .ptr == address_.port.data() + address_.port.size() &&
      port > 0 && port <= 65535;
  if (!not_numeric && numeric_port) {
    const asio::ip::tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
    co_await socket_.async_connect(endpoint, redirect_error(use_awaitable, ec));
  } else {
    asio::ip::tcp::resolver resolver(executor_);
    auto endpoints = co_await resolver.async_resolve(address_.host, address_.port,
                                                     redirect_error(use_awaitable, ec));
    if (!ec) co_await asio::async_connect(socket_, endpoints, redirect_error(use_awaitable, ec));
  }
  if (!ec) socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (!ec && address_.tls) {
    if (tls == nullptr) co_return fail(errc::tls_failed);
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls);
    SSL_set_tlsext_host_name(tls_->native_handle(), address_.host.c_str());
    if (!options_.tls_allow_insecure) {
      tls_->set_verify_mode(asio::ssl::verify_peer);
      tls_->set_verify_callback(asio::ssl::host_name_verification(address_.host));
    }
    co_await tls_->async_handshake(asio::ssl::stream_base::client,
                                   redirect_error(use_awaitable, ec));
    if (ec && !*timed_out) {
      spdlog::debug("TLS handshake with {} failed: {}", address_.str(), ec.message());
      deadline.cancel();
      co_return fail(errc::tls_failed);
    }
  }
  deadline.cancel();
  if (*timed_out) co_return fail(errc::timeout);
  if (ec) {
    spdlog::debug("connect to {} failed: {}", address_.str(), ec.message());
    co_return fail(errc::connect_failed);
  }
  co_return result<void>{};
}

awaitable<result<void>> connection::handshake() {
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::CONNECT);
  auto* connect = c.mutable_connect();
  connect->set_client_version(client_version());
  connect->set_protocol_version(pb::v21);
  connect->mutable_feature_flags()->set_supports_auth_refresh(true);
  if (!options_.auth_token.empty()) {
    connect->set_auth_method_name("token");
    connect->set_auth_data(options_.auth_token);
  }
  auto response = co_await request(std::move(c), handshake_request_id);
  if (!response) co_return fail(response.error());
  if (response->type() != pb::BaseCommand::CONNECTED) co_return fail(errc::handshake_failed);
  const auto& connected = response->connected();
  protocol_version_ = connected.protocol_version();
  if (connected.has_max_message_size() && connected.max_message_size() > 0) {
    max_message_size_ = static_cast<std::size_t>(connected.max_message_size());
  }
  ready_ = true;
  co_return result<void>{};
}

awaitable<result<pb::BaseCommand>> connection::request(pb::BaseCommand command,
                                                       std::uint64_t request_id) {
  if (closed_) co_return fail(errc::connection_closed);
  oneshot<result<pb::BaseCommand>> response;
  pending_[request_id] = &response;
  struct unregister {
    connection* self;
    std::uint64_t id;
    ~unregister() { self->pending_.erase(id); }
  } guard{this, request_id};
  send(command);
  auto r = co_await response.wait_until(clock::now() + options_.operation_timeout);
  if (!r) co_return fail(errc::timeout);
  co_return std::move(*r);
}

void connection::send(const pb::BaseCommand& command) {
  if (closed_) return;
  wire::append_command(output_, command);
  output_ready_.notify_all();
}

void connection::send_frame(byte_view encoded) {
  if (closed_) return;
  output_.insert(output_.end(), encoded.begin(), encoded.end());
  output_ready_.notify_all();
}

awaitable<std::size_t> connection::read_some(asio::mutable_buffer buffer, std::error_code* ec) {
  if (tls_) co_return co_await tls_->async_read_some(buffer, redirect_error(use_awaitable, *ec));
  co_return co_await socket_.async_read_some(buffer, redirect_error(use_awaitable, *ec));
}

awaitable<void> connection::read_loop(std::shared_ptr<connection> /*keep_alive*/) {
  while (!closed_) {
    std::error_code ec;
    auto space = input_.writable();
    std::size_t n = co_await read_some(asio::buffer(space.data(), space.size()), &ec);
    if (ec) break;
    input_.commit(n);
    received_since_ping_ = true;
    input_.set_max_frame_size(std::max(max_frame, max_message_size_ + wire::frame_overhead));
    while (!closed_) {
      auto f = input_.next();
      if (!f) {
        spdlog::warn("closing connection to {}: {}", address_.str(), f.error().message());
        close();
        co_return;
      }
      if (!f->has_value()) break;
      dispatch(**f);
    }
  }
  close();
}

awaitable<void> connection::write_loop(std::shared_ptr<connection> /*keep_alive*/) {
  while (!closed_) {
    if (output_.empty()) {
      co_await output_ready_.wait();
      continue;
    }
    std::swap(output_, writing_);
    std::error_code ec;
    if (tls_) {
      co_await asio::async_write(*tls_, asio::buffer(writing_), redirect_error(use_awaitable, ec));
    } else {
      co_await asio::async_write(socket_, asio::buffer(writing_),
                                 redirect_error(use_awaitable, ec));
    }
    writing_.clear();
    if (ec) {
      spdlog::debug("write to {} failed: {}", address_.str(), ec.message());
      close();
    }
  }
}

awaitable<void> connection::keepalive_loop(std::shared_ptr<connection> /*keep_alive*/) {
  while (!closed_) {
    keepalive_timer_.expires_after(options_.keepalive);
    std::error_code ec;
    co_await keepalive_timer_.async_wait(redirect_error(use_awaitable, ec));
    if (closed_) break;
    if (!received_since_ping_) {
      spdlog::warn("broker {} did not answer a ping; closing the connection", address_.str());
      close();
      break;
    }
    received_since_ping_ = false;
    pb::BaseCommand ping;
    ping.set_type(pb::BaseCommand::PING);
    ping.mutable_ping();
    send(ping);
  }
}

void connection::complete_request(std::uint64_t request_id, result<pb::BaseCommand> response) {
  auto it = pending_.find(request_id);
  if (it == pending_.end()) return;  // timed out already, or an unsolicited response
  it->second->set(std::move(response));
}

void connection::dispatch(const wire::frame& f) {
  const pb::BaseCommand& c = f.command;
  auto route = [&](auto& listeners, std::uint64_t id) {
    if (auto it = listeners.find(id); it != listeners.end()) it->second->on_frame(f);
  };
  auto drop = [&](auto& listeners, std::uint64_t id) {
    auto it = listeners.find(id);
    if (it == listeners.end()) return;
    connection_listener* l = it->second;
    listeners.erase(it);
    l->on_disconnected();
  };
  switch (c.type()) {
    case pb::BaseCommand::CONNECTED:
      complete_request(handshake_request_id, c);
      return;
    case pb::BaseCommand::ERROR: {
      auto ec = server_error(c.error().error());
      if (is_quota_refusal(ec)) {
        // The broker's words (e.g. "disk full: ...") say why better than the code does.
        spdlog::warn("broker {} refused: {}", address_.str(), c.error().message());
      } else {
        spdlog::debug("broker {} error: {} {}", address_.str(), ec.message(), c.error().message());
      }
      complete_request(ready_ ? c.error().request_id() : handshake_request_id, fail(ec));
      return;
    }
    case pb::BaseCommand::PRODUCER_SUCCESS:
      // A producer queued for exclusive access gets a first, not-ready answer; wait for the next.
      if (!c.producer_success().producer_ready()) return;
      break;
    case pb::BaseCommand::SEND_RECEIPT:
      return route(producers_, c.send_receipt().producer_id());
    case pb::BaseCommand::SEND_ERROR:
      return route(producers_, c.send_error().producer_id());
    case pb::BaseCommand::CLOSE_PRODUCER:
      return drop(producers_, c.close_producer().producer_id());
    case pb::BaseCommand::MESSAGE:
      return route(consumers_, c.message().consumer_id());
    case pb::BaseCommand::ACTIVE_CONSUMER_CHANGE:
      return route(consumers_, c.active_consumer_change().consumer_id());
    case pb::BaseCommand::REACHED_END_OF_TOPIC:
      return route(consumers_, c.reachedendoftopic().consumer_id());
    case pb::BaseCommand::CLOSE_CONSUMER:
      return drop(consumers_, c.close_consumer().consumer_id());
    case pb::BaseCommand::TOPIC_MIGRATED:
      drop(producers_, c.topicmigrated().resource_id());
      drop(consumers_, c.topicmigrated().resource_id());
      return;
    case pb::BaseCommand::PING: {
      pb::BaseCommand pong;
      pong.set_type(pb::BaseCommand::PONG);
      pong.mutable_pong();
      send(pong);
      return;
    }
    case pb::BaseCommand::PONG:
      return;
    case pb::BaseCommand::AUTH_CHALLENGE:
      return send_auth_response();
    default:
      break;
  }
  if (auto id = response_request_id(c)) {
    complete_request(*id, c);
  } else {
    spdlog::debug("ignoring unexpected {} from {}", pb::BaseCommand::Type_Name(c.type()),
                  address_.str());
  }
}

void connection::send_auth_response() {
  // Token credentials do not change within a process, so a refresh answers with the same token.
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::AUTH_RESPONSE);
  auto* r = c.mutable_authresponse();
  r->set_client_version(client_version());
  r->set_protocol_version(pb::v21);
  r->mutable_response()->set_auth_method_name("token");
  r->mutable_response()->set_auth_data(options_.auth_token);
  send(c);
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  ready_ = false;
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  keepalive_timer_.cancel();
  output_ready_.notify_all();
  fail_everything();
}

void connection::fail_everything() {
  for (auto& [id, waiter] : pending_) waiter->set(fail(errc::connection_closed));
  // Listeners may re-enter the pool or detach; work on copies.
  auto producers = std::exchange(producers_, {});
  auto consumers = std::exchange(consumers_, {});
  for (auto& [id, l] : producers) l->on_disconnected();
  for (auto& [id, l] : consumers) l->on_disconnected();
}

}  // namespace shfn::client
