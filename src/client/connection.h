#pragma once
// One TCP (or TLS) connection to a broker, shared by every producer and consumer placed there.
//
// Ownership: the connection_pool and each attached producer/consumer hold a shared_ptr; the
// reader and writer coroutines hold one too while they run. Everything runs on one executor
// (the client's io_context thread), so nothing here takes a lock.
//
// Data flow: a reader coroutine decodes frames (wire::decode_frame) and routes them: responses
// by request_id to the waiting request(); producer and consumer traffic by their ids to the
// attached listener. A writer coroutine drains one output buffer with as few writes as it can.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "base/bytes.h"
#include "base/notifier.h"
#include "base/result.h"
#include "client/options.h"
#include "client/service_url.h"
#include "wire/frame.h"
#include "wire/frame_buffer.h"

namespace shfn::client {

// A producer or consumer attached to a connection.
class connection_listener {
 public:
  virtual ~connection_listener() = default;
  virtual void on_frame(const wire::frame& f) = 0;
  // The connection is gone (or the broker closed this producer/consumer): reconnect.
  virtual void on_disconnected() = 0;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  struct private_tag {};
  connection(private_tag, asio::any_io_executor ex, broker_address address,
             const client_options& options);
  ~connection();

  // Connects, TLS-handshakes when the address asks for it, and completes CONNECT/CONNECTED.
  // `options` are the client's, which the connection refers to for its whole life.
  static asio::awaitable<result<std::shared_ptr<connection>>> open(broker_address address,
                                                                   const client_options* options,
                                                                   asio::ssl::context* tls);

  // Sends a command carrying `request_id` and waits for the matching response. A broker
  // ERROR response becomes its ServerError code. (By value: no coroutine here holds a
  // reference; std::move the command in.)
  asio::awaitable<result<wire::pb::BaseCommand>> request(wire::pb::BaseCommand command,
                                                         std::uint64_t request_id);

  void send(const wire::pb::BaseCommand& command);
  void send_frame(byte_view encoded);

  std::uint64_t next_request_id() { return next_request_id_++; }

  void attach_producer(std::uint64_t id, connection_listener* l) { producers_[id] = l; }
  void attach_consumer(std::uint64_t id, connection_listener* l) { consumers_[id] = l; }
  void detach_producer(std::uint64_t id) { producers_.erase(id); }
  void detach_consumer(std::uint64_t id) { consumers_.erase(id); }

  bool is_open() const { return ready_ && !closed_; }
  void close();

  std::size_t max_message_size() const { return max_message_size_; }
  int protocol_version() const { return protocol_version_; }
  const broker_address& address() const { return address_; }

 private:
  asio::awaitable<result<void>> connect_socket(asio::ssl::context* tls);
  asio::awaitable<result<void>> handshake();
  asio::awaitable<void> read_loop(std::shared_ptr<connection> /*keep_alive*/);
  asio::awaitable<void> write_loop(std::shared_ptr<connection> /*keep_alive*/);
  asio::awaitable<void> keepalive_loop(std::shared_ptr<connection> /*keep_alive*/);
  // `ec` is the caller's, alive until this returns.
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, std::error_code* ec);
  void dispatch(const wire::frame& f);
  void complete_request(std::uint64_t request_id, result<wire::pb::BaseCommand> response);
  void send_auth_response();
  void fail_everything();

  asio::any_io_executor executor_;
  broker_address address_;
  const client_options& options_;
  asio::ip::tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;

  wire::frame_buffer input_{wire::default_max_message_size * 4 + wire::frame_overhead};
  bytes output_;
  bytes writing_;
  notifier output_ready_;

  bool ready_ = false;  // handshake done
  bool closed_ = false;
  bool received_since_ping_ = true;
  std::size_t max_message_size_ = wire::default_max_message_size;
  int protocol_version_ = 0;
  std::uint64_t next_request_id_ = 1;
  std::unordered_map<std::uint64_t, oneshot<result<wire::pb::BaseCommand>>*> pending_;
  std::unordered_map<std::uint64_t, connection_listener*> producers_;
  std::unordered_map<std::uint64_t, connection_listener*> consumers_;
  asio::steady_timer keepalive_timer_;
};

}  // namespace shfn::client
