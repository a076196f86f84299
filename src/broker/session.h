#pragma once
// One client connection to the embedded broker: reads frames, handles each command against the
// topic registry, and writes responses and messages back. Everything runs on the broker's
// executor, so no locks: a read loop and a write loop per session.
//
// A session holds the producers and consumers its client created; when the connection ends,
// every one of them is closed, which hands the consumers' unacked entries to other consumers.

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/notifier.h"
#include "broker/links.h"
#include "broker/schema_registry.h"
#include "http/transport.h"
#include "pulsar_api.pb.h"
#include "wire/frame_buffer.h"

namespace shfn::broker {

class topic;
class topic_registry;
class subscription;
struct consumer;
struct broker_context;

class session final : public std::enable_shared_from_this<session>,
                      public producer_link,
                      public consumer_link {
 public:
  // Over TLS when the transport is: the handshake comes first.
  session(http::transport transport, topic_registry& topics, broker_context& ctx);
  ~session() override;

  void start();
  void close();
  bool closed() const { return closed_; }

  // producer_link
  void send_producer_success(std::uint64_t producer_id, const producer_success& s) override;
  void send_receipt(std::uint64_t producer_id, std::uint64_t sequence_id,
                    std::uint64_t highest_sequence_id, const wire::message_id& id) override;
  void send_error(std::uint64_t producer_id, std::uint64_t sequence_id, wire::pb::ServerError error,
                  const std::string& message) override;
  void send_close_producer(std::uint64_t producer_id) override;
  // consumer_link
  void send_message(std::uint64_t consumer_id, const wire::message_id& id,
                    std::uint32_t redelivery_count, bytes entry) override;
  void send_active_consumer_change(std::uint64_t consumer_id, bool active) override;
  void send_close_consumer(std::uint64_t consumer_id) override;
  void send_reached_end_of_topic(std::uint64_t consumer_id) override;

 private:
  struct producer_handle {
    std::shared_ptr<topic> owner;
    std::string name;
    std::int64_t last_sequence_id = -1;        // as first answered, for a retried PRODUCER
    std::optional<std::uint64_t> topic_epoch;  // once it holds the topic
    bool ready = true;                         // false: queued (WaitForExclusive)
    std::string schema_version;                // as PRODUCER_SUCCESS carries it; "" for none
  };
  struct consumer_handle {
    std::shared_ptr<topic> owner;
    subscription* sub = nullptr;
    consumer* c = nullptr;
  };

  // The TLS handshake (bounded by the keepalive period), then the loops.
  asio::awaitable<void> begin(std::shared_ptr<session> self);
  asio::awaitable<void> read_loop(std::shared_ptr<session> self);
  asio::awaitable<void> write_loop(std::shared_ptr<session> self);
  asio::awaitable<void> keepalive_loop(std::shared_ptr<session> self);

  void handle(const wire::frame& f);
  void on_connect(const wire::pb::CommandConnect& c);
  void on_lookup(const wire::pb::CommandLookupTopic& c);
  void on_partitioned_metadata(const wire::pb::CommandPartitionedTopicMetadata& c);
  std::optional<std::string> authentication_refusal(const wire::pb::CommandConnect& c) const;
  void on_get_topics_of_namespace(const wire::pb::CommandGetTopicsOfNamespace& c);
  void on_producer(const wire::pb::CommandProducer& c);
  void refuse_on_full_disk(const wire::pb::CommandProducer& c);
  void on_send(const wire::frame& f);
  void on_close_producer(const wire::pb::CommandCloseProducer& c);
  void on_subscribe(const wire::pb::CommandSubscribe& c);
  void on_flow(const wire::pb::CommandFlow& c);
  void on_ack(const wire::pb::CommandAck& c);
  void on_redeliver(const wire::pb::CommandRedeliverUnacknowledgedMessages& c);
  void on_close_consumer(const wire::pb::CommandCloseConsumer& c);
  void on_unsubscribe(const wire::pb::CommandUnsubscribe& c);
  void on_get_last_message_id(const wire::pb::CommandGetLastMessageId& c);
  void on_seek(const wire::pb::CommandSeek& c);
  void on_consumer_stats(const wire::pb::CommandConsumerStats& c);
  // session_schemas.cc: the schema version a producer gets ("" for none), or why not; whether a
  // consumer's schema lets it join.
  tl::expected<std::string, schema_refusal> producer_schema_version(bool has_schema,
                                                                    const wire::pb::Schema& s,
                                                                    const wire::topic_name& name);
  std::optional<schema_refusal> admit_consumer_schema(const wire::pb::CommandSubscribe& c,
                                                      const topic& t);
  void refuse_schema(std::uint64_t request_id, const std::string& topic_name,
                     const schema_refusal& r);
  void on_get_schema(const wire::pb::CommandGetSchema& c);
  void on_get_or_create_schema(const wire::pb::CommandGetOrCreateSchema& c);
  void on_unsupported(const wire::pb::BaseCommand& c);

  consumer_handle* find_consumer(std::uint64_t consumer_id);
  void close_producer(std::uint64_t producer_id);
  void close_consumer(std::uint64_t consumer_id);
  void send(const wire::pb::BaseCommand& command);
  void send_success(std::uint64_t request_id);
  void send_request_error(std::uint64_t request_id, std::error_code error);
  void send_request_error(std::uint64_t request_id, wire::pb::ServerError error,
                          const std::string& message);
  std::string peer() const;

  http::transport transport_;
  topic_registry& topics_;
  broker_context& ctx_;
  wire::frame_buffer input_;
  // What goes out next. A large entry is not copied into output_: it is kept aside with the
  // position in output_ it follows, and the write gathers the pieces (writev).
  struct attached_entry {
    std::size_t at = 0;
    bytes data;
  };
  bytes output_;
  std::vector<attached_entry> attached_;
  bytes writing_;
  std::vector<attached_entry> attached_writing_;
  std::vector<asio::const_buffer> gather_;
  notifier output_ready_;
  asio::steady_timer keepalive_timer_;
  bool received_since_ping_ = true;
  bool connected_ = false;          // CONNECT received
  bool close_after_flush_ = false;  // refused: close once the answer is written
  bool closed_ = false;
  std::map<std::uint64_t, producer_handle> producers_;
  std::map<std::uint64_t, consumer_handle> consumers_;
  std::set<std::uint64_t> closed_producers_;  // closed by the broker; their late SENDs are dropped
};

}  // namespace shfn::broker
