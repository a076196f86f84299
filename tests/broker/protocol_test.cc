// The embedded broker at the protocol level, over a raw socket: exact FLOW accounting, receipt
// ids, unsupported commands, and malformed input that must close one connection and nothing
// else.

#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "broker/broker.h"
#include "broker/context.h"
#include "http/tests/http_client.h"
#include "storage/layout.h"
#include "support/broker_env.h"
#include "wire/frame.h"
#include "wire/frame_buffer.h"
#include "wire/topic_name.h"

namespace shfn::broker {
namespace {

namespace pb = wire::pb;
namespace fs = std::filesystem;

// A blocking, hand-driven protocol client: send commands, read frames, nothing implicit.
class raw_client {
 public:
  explicit raw_client(const std::string& url) : socket_(io_), input_(8 << 20) {
    const auto hostport = url.substr(std::string("pulsar://").size());
    const auto colon = hostport.rfind(':');
    asio::ip::tcp::resolver resolver(io_);
    asio::connect(socket_, resolver.resolve(hostport.substr(0, colon), hostport.substr(colon + 1)));
  }

  void send(const pb::BaseCommand& c) { write(wire::encode_command(c)); }
  void write(const bytes& raw) { asio::write(socket_, asio::buffer(raw)); }

  // The next frame; nullopt when the broker closed the connection.
  std::optional<pb::BaseCommand> next() {
    for (;;) {
      auto f = input_.next();
      if (!f) return std::nullopt;
      if (f->has_value()) return (*f)->command;
      auto space = input_.writable();
      std::error_code ec;
      const std::size_t n = socket_.read_some(asio::buffer(space.data(), space.size()), ec);
      if (ec) return std::nullopt;
      input_.commit(n);
    }
  }

  // Frames up to (not including) the PONG answering a PING sent now: the broker handles
  // commands in order, so this is everything it had to say before it.
  std::vector<pb::BaseCommand> until_pong() {
    pb::BaseCommand ping;
    ping.set_type(pb::BaseCommand::PING);
    ping.mutable_ping();
    send(ping);
    std::vector<pb::BaseCommand> frames;
    while (auto c = next()) {
      if (c->type() == pb::BaseCommand::PONG) break;
      frames.push_back(*c);
    }
    return frames;
  }

  bool connect() {
    pb::BaseCommand c;
    c.set_type(pb::BaseCommand::CONNECT);
    c.mutable_connect()->set_client_version("raw-test");
    c.mutable_connect()->set_protocol_version(pb::v21);
    send(c);
    auto reply = next();
    return reply && reply->type() == pb::BaseCommand::CONNECTED;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  wire::frame_buffer input_;
};

pb::BaseCommand producer_command(const std::string& topic) {
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::PRODUCER);
  c.mutable_producer()->set_topic(topic);
  c.mutable_producer()->set_producer_id(1);
  c.mutable_producer()->set_request_id(1);
  return c;
}

pb::MessageMetadata metadata(std::uint64_t sequence_id) {
  pb::MessageMetadata meta;
  meta.set_producer_name("raw");
  meta.set_sequence_id(sequence_id);
  meta.set_publish_time(1);
  return meta;
}

bytes send_frame(const pb::MessageMetadata& meta, std::string_view payload) {
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::SEND);
  c.mutable_send()->set_producer_id(1);
  c.mutable_send()->set_sequence_id(meta.sequence_id());
  bytes out;
  wire::append_payload_command(out, c, meta, as_bytes(payload));
  return out;
}

bytes send_frame(std::uint64_t sequence_id, std::string_view payload) {
  return send_frame(metadata(sequence_id), payload);
}

// Chunk `chunk` of `chunks` of message `sequence_id`, as the official clients cut them.
bytes chunk_frame(std::uint64_t sequence_id, int chunk, int chunks, std::string_view payload) {
  auto meta = metadata(sequence_id);
  meta.set_uuid("raw-" + std::to_string(sequence_id));
  meta.set_chunk_id(chunk);
  meta.set_num_chunks_from_msg(chunks);
  meta.set_total_chunk_msg_size(static_cast<int>(payload.size()) * chunks);
  return send_frame(meta, payload);
}

pb::BaseCommand named_producer(const std::string& topic, const std::string& name,
                               pb::ProducerAccessMode mode = pb::Shared) {
  auto c = producer_command(topic);
  c.mutable_producer()->set_producer_name(name);
  c.mutable_producer()->set_producer_access_mode(mode);
  return c;
}

pb::BaseCommand subscribe_command(const std::string& topic, pb::CommandSubscribe::SubType type =
                                                                pb::CommandSubscribe::Exclusive) {
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::SUBSCRIBE);
  auto* s = c.mutable_subscribe();
  s->set_topic(topic);
  s->set_subscription("s");
  s->set_subtype(type);
  s->set_consumer_id(1);
  s->set_request_id(2);
  s->set_initialposition(pb::CommandSubscribe::Earliest);
  return c;
}

pb::BaseCommand flow(std::uint32_t permits) {
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::FLOW);
  c.mutable_flow()->set_consumer_id(1);
  c.mutable_flow()->set_messagepermits(permits);
  return c;
}

pb::BaseCommand get_topics(std::uint64_t request_id, const std::string& ns,
                           pb::CommandGetTopicsOfNamespace::Mode mode) {
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::GET_TOPICS_OF_NAMESPACE);
  c.mutable_gettopicsofnamespace()->set_request_id(request_id);
  c.mutable_gettopicsofnamespace()->set_namespace_(ns);
  c.mutable_gettopicsofnamespace()->set_mode(mode);
  return c;
}

class broker_protocol : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / shfn::testing::unique_topic("shfn-protocol-test");
    restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = ""});
  }
  void restart(const broker_options& options) {
    broker_.reset();
    auto started = broker_thread::start(options);
    ASSERT_TRUE(started.has_value()) << started.error().message();
    broker_ = std::move(*started);
  }
  void TearDown() override {
    broker_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Stores `count` messages on `topic` through a raw producer; returns the receipts' entry ids.
  std::vector<std::uint64_t> produce(const std::string& topic, int count) {
    raw_client p(broker_->service_url());
    EXPECT_TRUE(p.connect());
    p.send(producer_command(topic));
    auto created = p.next();
    EXPECT_TRUE(created && created->type() == pb::BaseCommand::PRODUCER_SUCCESS);
    for (int i = 0; i < count; ++i)
      p.write(send_frame(static_cast<std::uint64_t>(i), "m" + std::to_string(i)));
    std::vector<std::uint64_t> entries;
    for (int i = 0; i < count; ++i) {
      auto receipt = p.next();
      EXPECT_TRUE(receipt && receipt->type() == pb::BaseCommand::SEND_RECEIPT);
      if (!receipt) break;
      EXPECT_EQ(receipt->send_receipt().sequence_id(), static_cast<std::uint64_t>(i));
      entries.push_back(receipt->send_receipt().message_id().entryid());
    }
    return entries;
  }

  fs::path dir_;
  std::unique_ptr<broker_thread> broker_;
};

TEST_F(broker_protocol, receipts_carry_real_dense_entry_ids) {
  EXPECT_EQ(produce("receipts", 5), (std::vector<std::uint64_t>{0, 1, 2, 3, 4}));
}

TEST_F(broker_protocol, flow_permits_are_honoured_exactly) {
  produce("flow", 10);
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command("flow"));
  auto ok = c.next();
  ASSERT_TRUE(ok && ok->type() == pb::BaseCommand::SUCCESS);
  EXPECT_TRUE(c.until_pong().empty()) << "no permits, no messages";
  c.send(flow(3));
  auto frames = c.until_pong();
  ASSERT_EQ(frames.size(), 3u);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].type(), pb::BaseCommand::MESSAGE);
    EXPECT_EQ(frames[i].message().message_id().entryid(), i);
  }
  c.send(flow(100));
  EXPECT_EQ(c.until_pong().size(), 7u) << "the rest, and nothing more";
}

// The C++ client's getBrokerConsumerStats() waits for CONSUMER_STATS_RESPONSE; an ERROR never
// reaches it.
TEST_F(broker_protocol, consumer_stats_are_answered_in_their_own_response) {
  produce("stats", 3);
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  pb::BaseCommand stats;
  stats.set_type(pb::BaseCommand::CONSUMER_STATS);
  stats.mutable_consumerstats()->set_consumer_id(1);
  stats.mutable_consumerstats()->set_request_id(42);
  c.send(stats);
  auto unknown = c.next();
  ASSERT_TRUE(unknown && unknown->type() == pb::BaseCommand::CONSUMER_STATS_RESPONSE);
  EXPECT_EQ(unknown->consumerstatsresponse().request_id(), 42u);
  EXPECT_EQ(unknown->consumerstatsresponse().error_code(), pb::ConsumerNotFound);

  c.send(subscribe_command("stats"));
  ASSERT_TRUE(c.next().has_value());
  c.send(flow(2));
  ASSERT_EQ(c.until_pong().size(), 2u);
  stats.mutable_consumerstats()->set_request_id(43);
  c.send(stats);
  auto known = c.next();
  ASSERT_TRUE(known && known->type() == pb::BaseCommand::CONSUMER_STATS_RESPONSE);
  const auto& r = known->consumerstatsresponse();
  EXPECT_EQ(r.request_id(), 43u);
  EXPECT_FALSE(r.has_error_code());
  EXPECT_EQ(r.unackedmessages(), 2u);
  EXPECT_EQ(r.msgbacklog(), 3u);
  EXPECT_EQ(r.type(), "Exclusive");
}

// Each malformed input closes its own connection; the broker keeps serving, data intact.
TEST_F(broker_protocol, malformed_input_closes_that_connection_only) {
  produce("survivor", 3);
  std::vector<bytes> attacks;
  attacks.push_back(bytes{0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7});  // size way over max
  attacks.push_back(bytes{0, 0, 0, 6, 0, 0, 0, 2, 0xff, 0xff});              // not a protobuf
  {
    bytes bad_crc = send_frame(9, "payload");
    bad_crc[bad_crc.size() - 1] ^= 0x01;
    attacks.push_back(bad_crc);
  }
  for (std::size_t i = 0; i < attacks.size(); ++i) {
    raw_client c(broker_->service_url());
    ASSERT_TRUE(c.connect());
    if (i == 2) {
      c.send(producer_command("survivor"));
      ASSERT_TRUE(c.next().has_value());
    }
    c.write(attacks[i]);
    EXPECT_FALSE(c.next().has_value()) << "attack " << i << " should close the connection";
  }
  {
    raw_client early(broker_->service_url());
    early.send(subscribe_command("survivor"));  // before CONNECT
    EXPECT_FALSE(early.next().has_value());
  }
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command("survivor"));
  ASSERT_TRUE(c.next().has_value());
  c.send(flow(100));
  EXPECT_EQ(c.until_pong().size(), 3u) << "the stored messages are all still there";
}

// A client that answers pings stays; one that falls silent is dropped, so what it held is freed.
TEST_F(broker_protocol, silent_connections_are_pinged_then_closed) {
  restart({.listen = "127.0.0.1:0",
           .data_dir = dir_,
           .admin = "",
           .keepalive = std::chrono::milliseconds(50)});
  raw_client alive(broker_->service_url());
  raw_client silent(broker_->service_url());
  ASSERT_TRUE(alive.connect());
  ASSERT_TRUE(silent.connect());
  for (int i = 0; i < 3; ++i) {
    auto ping = alive.next();
    ASSERT_TRUE(ping && ping->type() == pb::BaseCommand::PING);
    pb::BaseCommand pong;
    pong.set_type(pb::BaseCommand::PONG);
    pong.mutable_pong();
    alive.send(pong);
  }
  auto ping = silent.next();
  ASSERT_TRUE(ping && ping->type() == pb::BaseCommand::PING);
  EXPECT_FALSE(silent.next().has_value()) << "no pong: the broker closes the connection";
  EXPECT_TRUE(alive.until_pong().empty()) << "the answering client is still served";
}

// What a regex subscription starts from: persistent topics with data (loaded or not), the
// partitions of a partitioned topic one by one, non-persistent topics that are live.
TEST_F(broker_protocol, get_topics_of_namespace_lists_what_exists) {
  using mode = pb::CommandGetTopicsOfNamespace;
  restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = "127.0.0.1:0"});
  ::setenv("PULSAR_HTTP", broker_->admin_url().c_str(), 1);
  ASSERT_EQ(shfn::testing::admin_request(
                "PUT", "/admin/v2/persistent/public/default/parted/partitions", "2") /
                100,
            2);
  ASSERT_EQ(shfn::testing::admin_request("PUT", "/admin/v2/namespaces/public/elsewhere", ""), 204);
  produce("persistent://public/default/a", 1);
  produce("b", 1);
  produce("persistent://public/elsewhere/c", 1);
  raw_client live(broker_->service_url());
  ASSERT_TRUE(live.connect());
  live.send(producer_command("non-persistent://public/default/np"));
  auto created = live.next();
  ASSERT_TRUE(created && created->type() == pb::BaseCommand::PRODUCER_SUCCESS);

  const std::set<std::string> persistent = {"persistent://public/default/a",
                                            "persistent://public/default/b",
                                            "persistent://public/default/parted-partition-0",
                                            "persistent://public/default/parted-partition-1"};
  const std::set<std::string> transient = {"non-persistent://public/default/np"};
  std::set<std::string> everything = persistent;
  everything.insert(transient.begin(), transient.end());
  auto ask = [](raw_client& c, std::uint64_t id, const pb::BaseCommand& request) {
    c.send(request);
    auto reply = c.next();
    EXPECT_TRUE(reply && reply->type() == pb::BaseCommand::GET_TOPICS_OF_NAMESPACE_RESPONSE);
    if (!reply) return std::set<std::string>();
    const auto& r = reply->gettopicsofnamespaceresponse();
    EXPECT_EQ(r.request_id(), id);
    EXPECT_FALSE(r.filtered()) << "the broker leaves the matching to the client";
    return std::set<std::string>(r.topics().begin(), r.topics().end());
  };
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  EXPECT_EQ(ask(c, 10, get_topics(10, "public/default", mode::PERSISTENT)), persistent);
  EXPECT_EQ(ask(c, 11, get_topics(11, "public/default", mode::NON_PERSISTENT)), transient);
  EXPECT_EQ(ask(c, 12, get_topics(12, "public/default", mode::ALL)), everything);
  auto with_pattern = get_topics(13, "public/default", mode::PERSISTENT);
  with_pattern.mutable_gettopicsofnamespace()->set_topics_pattern("persistent://public/default/a");
  EXPECT_EQ(ask(c, 13, with_pattern), persistent);
  EXPECT_EQ(ask(c, 14, get_topics(14, "public/nothing-here", mode::ALL)), std::set<std::string>());

  c.send(get_topics(15, "not-a-namespace", mode::ALL));
  auto refused = c.next();
  ASSERT_TRUE(refused && refused->type() == pb::BaseCommand::ERROR);
  EXPECT_EQ(refused->error().request_id(), 15u);
  EXPECT_TRUE(c.until_pong().empty()) << "and the connection stays usable";

  // After a restart nothing is loaded: the persistent topics are found on disk; the
  // non-persistent one went with the broker.
  restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = ""});
  raw_client again(broker_->service_url());
  ASSERT_TRUE(again.connect());
  EXPECT_EQ(ask(again, 1, get_topics(1, "public/default", mode::ALL)), persistent);
}

std::size_t segment_files(const fs::path& log_dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(log_dir, ec)) n += f.path().extension() == ".seg";
  return n;
}

// Whole segments below every subscription's mark-delete position are deleted; the rest stay.
TEST_F(broker_protocol, consumed_segments_are_reclaimed) {
  restart({.listen = "127.0.0.1:0",
           .data_dir = dir_,
           .admin = "",
           .segment_bytes = 1024,
           .trim_interval = std::chrono::milliseconds(10)});
  const fs::path log_dir = dir_ / "topics/persistent/public/default/reclaim/log";
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command("reclaim"));
  ASSERT_TRUE(c.next().has_value());
  produce("reclaim", 300);
  const std::size_t before = segment_files(log_dir);
  ASSERT_GT(before, 5u);

  c.send(flow(300));
  auto messages = c.until_pong();
  ASSERT_EQ(messages.size(), 300u);
  pb::BaseCommand ack;
  ack.set_type(pb::BaseCommand::ACK);
  ack.mutable_ack()->set_consumer_id(1);
  ack.mutable_ack()->set_ack_type(pb::CommandAck::Individual);
  for (std::size_t i = 0; i < 150; ++i)
    *ack.mutable_ack()->add_message_id() = messages[i].message().message_id();
  c.send(ack);

  // The trim runs every 10 ms; give it a generous while to get round to it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (segment_files(log_dir) > before / 2 + 2 && std::chrono::steady_clock::now() < deadline) {
    c.until_pong();
  }
  const std::size_t after = segment_files(log_dir);
  EXPECT_LE(after, before / 2 + 2) << "segments of the acknowledged half are deleted";
  EXPECT_GE(after, before / 2 - 1) << "segments holding unacknowledged entries stay";

  // After a restart, exactly the unacknowledged half comes back, in order.
  restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = "", .segment_bytes = 1024});
  raw_client again(broker_->service_url());
  ASSERT_TRUE(again.connect());
  again.send(subscribe_command("reclaim"));
  ASSERT_TRUE(again.next().has_value());
  again.send(flow(300));
  auto rest = again.until_pong();
  ASSERT_EQ(rest.size(), 150u);
  for (std::size_t i = 0; i < rest.size(); ++i) {
    EXPECT_EQ(rest[i].message().message_id().entryid(), 150 + i);
  }
}

// A namespace's retention time keeps consumed data that the broker's default would delete: the
// topic in public/default and the one in a namespace with infinite retention are trimmed in the
// same pass, so once the first has lost its consumed segments the second was trimmed too.
TEST_F(broker_protocol, a_namespace_retention_keeps_consumed_segments) {
  restart({.listen = "127.0.0.1:0",
           .data_dir = dir_,
           .admin = "127.0.0.1:0",
           .segment_bytes = 1024,
           .trim_interval = std::chrono::milliseconds(10)});
  ::setenv("PULSAR_HTTP", broker_->admin_url().c_str(), 1);
  ASSERT_EQ(shfn::testing::admin_request("PUT", "/admin/v2/namespaces/public/kept", ""), 204);
  ASSERT_EQ(
      shfn::testing::admin_request("POST", "/admin/v2/namespaces/public/kept/retention",
                                   R"({"retentionTimeInMinutes": -1, "retentionSizeInMB": -1})"),
      204);
  const std::string kept = "persistent://public/kept/log";
  const std::string trimmed = "persistent://public/default/log";
  const auto log_of = [this](const std::string& topic) {
    return storage::topic_dir(dir_, *wire::parse_topic_name(topic)) / "log";
  };
  std::map<std::string, std::size_t> before;
  std::vector<std::unique_ptr<raw_client>> consumers;
  for (const auto& topic : {kept, trimmed}) {
    auto c = std::make_unique<raw_client>(broker_->service_url());
    ASSERT_TRUE(c->connect());
    c->send(subscribe_command(topic));
    ASSERT_TRUE(c->next().has_value());
    produce(topic, 200);
    before[topic] = segment_files(log_of(topic));
    ASSERT_GT(before[topic], 5u);
    c->send(flow(200));
    auto messages = c->until_pong();
    ASSERT_EQ(messages.size(), 200u);
    pb::BaseCommand ack;
    ack.set_type(pb::BaseCommand::ACK);
    ack.mutable_ack()->set_consumer_id(1);
    ack.mutable_ack()->set_ack_type(pb::CommandAck::Cumulative);
    *ack.mutable_ack()->add_message_id() = messages.back().message().message_id();
    c->send(ack);
    consumers.push_back(std::move(c));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (segment_files(log_of(trimmed)) > 2 && std::chrono::steady_clock::now() < deadline) {
    consumers.back()->until_pong();
  }
  ASSERT_LE(segment_files(log_of(trimmed)), 2u) << "the default namespace's consumed data goes";
  EXPECT_EQ(segment_files(log_of(kept)), before[kept]) << "infinite retention keeps it all";
}

// What an admin API's GET answers, as JSON (null when it cannot be had).
nlohmann::json admin_get(const std::string& admin_url, const std::string& path) {
  return http::testing::request(http::testing::endpoint_of(admin_url), "GET", path).body_json();
}

bool closes_a_consumer(const std::vector<pb::BaseCommand>& frames) {
  return std::ranges::any_of(
      frames, [](const auto& f) { return f.type() == pb::BaseCommand::CLOSE_CONSUMER; });
}

// A namespace's message TTL skips what a subscription left unacknowledged that long, and its
// consumer stays attached: once the backlog is gone, the next message reaches it.
TEST_F(broker_protocol, a_message_ttl_expires_the_backlog_and_keeps_the_consumer) {
  restart({.listen = "127.0.0.1:0",
           .data_dir = dir_,
           .admin = "127.0.0.1:0",
           .trim_interval = std::chrono::milliseconds(10)});
  ::setenv("PULSAR_HTTP", broker_->admin_url().c_str(), 1);
  ASSERT_EQ(shfn::testing::admin_request("PUT", "/admin/v2/namespaces/public/ttl", ""), 204);
  ASSERT_EQ(shfn::testing::admin_request("POST", "/admin/v2/namespaces/public/ttl/messageTTL", "1"),
            204);
  const std::string topic = "persistent://public/ttl/t";
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command(topic, pb::CommandSubscribe::Shared));
  ASSERT_TRUE(c.next().has_value());
  produce(topic, 5);
  const std::string stats = "/admin/v2/persistent/public/ttl/t/stats";
  std::vector<pb::BaseCommand> frames;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (admin_get(broker_->admin_url(), stats)["subscriptions"]["s"]["msgBacklog"] != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    for (auto& f : c.until_pong()) frames.push_back(std::move(f));
  }
  ASSERT_EQ(admin_get(broker_->admin_url(), stats)["subscriptions"]["s"]["msgBacklog"], 0)
      << "expired a second after they were published";
  EXPECT_FALSE(closes_a_consumer(frames));
  produce(topic, 1);
  c.send(flow(10));
  auto delivered = c.until_pong();
  ASSERT_EQ(delivered.size(), 1u) << "only the message published after the expiry";
  EXPECT_EQ(delivered[0].message().message_id().entryid(), 5u);
}

// Waits for the compaction the admin API started on `topic` (public/{ns}/{local}) to end.
std::string compaction_status(const std::string& admin_url, const std::string& topic_path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string status;
  do {
    status = admin_get(admin_url, topic_path + "/compaction")["status"].get<std::string>();
  } while (status == "RUNNING" && std::chrono::steady_clock::now() < deadline);
  return status;
}

// A message TTL leaves the __compaction subscription where it is, as Pulsar's expiry does: what
// came after the horizon is the next compaction's to read, not the trim's to delete.
TEST_F(broker_protocol, a_message_ttl_leaves_the_compaction_horizon_alone) {
  restart({.listen = "127.0.0.1:0",
           .data_dir = dir_,
           .admin = "127.0.0.1:0",
           .trim_interval = std::chrono::milliseconds(10)});
  ::setenv("PULSAR_HTTP", broker_->admin_url().c_str(), 1);
  ASSERT_EQ(shfn::testing::admin_request("PUT", "/admin/v2/namespaces/public/ttlc", ""), 204);
  ASSERT_EQ(
      shfn::testing::admin_request("POST", "/admin/v2/namespaces/public/ttlc/messageTTL", "1"),
      204);
  const std::string topic = "persistent://public/ttlc/t";
  const std::string path = "/admin/v2/persistent/public/ttlc/t";
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command(topic, pb::CommandSubscribe::Shared));
  ASSERT_TRUE(c.next().has_value());
  produce(topic, 2);
  ASSERT_EQ(shfn::testing::admin_request("PUT", path + "/compaction", ""), 204);
  ASSERT_EQ(compaction_status(broker_->admin_url(), path), "SUCCESS");
  produce(topic, 3);  // after the horizon
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (admin_get(broker_->admin_url(), path + "/stats")["subscriptions"]["s"]["msgBacklog"] !=
             0 &&
         std::chrono::steady_clock::now() < deadline) {
    c.until_pong();
  }
  const auto stats = admin_get(broker_->admin_url(), path + "/stats");
  ASSERT_EQ(stats["subscriptions"]["s"]["msgBacklog"], 0) << "expired a second after";
  EXPECT_EQ(stats["subscriptions"]["__compaction"]["msgBacklog"], 3);
}

// A compacted view that reaches past the log's end (the log lost its tail) is dropped when the
// topic loads: a compacted reader would otherwise miss what is written there next.
TEST_F(broker_protocol, a_compacted_view_past_the_logs_end_is_dropped) {
  restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = "127.0.0.1:0"});
  const std::string path = "/admin/v2/persistent/public/default/behind";
  ::setenv("PULSAR_HTTP", broker_->admin_url().c_str(), 1);
  produce("behind", 2);
  ASSERT_EQ(shfn::testing::admin_request("PUT", path + "/compaction", ""), 204);
  ASSERT_EQ(compaction_status(broker_->admin_url(), path), "SUCCESS");
  broker_.reset();
  const fs::path pointer = storage::compacted_file(
      storage::topic_dir(dir_, *wire::parse_topic_name("persistent://public/default/behind")));
  std::ofstream(pointer, std::ios::trunc) << "0 100\n";

  restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = ""});
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  auto subscribe = subscribe_command("behind");
  subscribe.mutable_subscribe()->set_read_compacted(true);
  c.send(subscribe);
  ASSERT_TRUE(c.next().has_value());
  c.send(flow(10));
  EXPECT_EQ(c.until_pong().size(), 2u) << "the log's messages, not an empty view reaching 100";
  EXPECT_FALSE(fs::exists(pointer));
}

// clear-backlog settles everything stored without closing the subscription's consumers.
TEST_F(broker_protocol, clear_backlog_keeps_the_consumer) {
  restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = "127.0.0.1:0"});
  ::setenv("PULSAR_HTTP", broker_->admin_url().c_str(), 1);
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command("cleared", pb::CommandSubscribe::Shared));
  ASSERT_TRUE(c.next().has_value());
  produce("cleared", 3);
  ASSERT_EQ(shfn::testing::admin_request(
                "POST", "/admin/v2/persistent/public/default/cleared/subscription/s/skip_all", ""),
            204);
  EXPECT_FALSE(closes_a_consumer(c.until_pong()));
  produce("cleared", 1);
  c.send(flow(10));
  auto delivered = c.until_pong();
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].message().message_id().entryid(), 3u);
}

bool has_frame(const std::vector<pb::BaseCommand>& frames, pb::BaseCommand::Type type) {
  return std::ranges::any_of(frames, [type](const auto& f) { return f.type() == type; });
}

// `topics unload`: the topic's producers and consumers are closed, as Pulsar closes them; the
// consumer subscribes again and gets what it had not acknowledged, from the topic loaded anew.
TEST_F(broker_protocol, unload_closes_the_clients_and_they_carry_on) {
  restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = "127.0.0.1:0"});
  ::setenv("PULSAR_HTTP", broker_->admin_url().c_str(), 1);
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command("unloaded", pb::CommandSubscribe::Shared));
  ASSERT_TRUE(c.next().has_value());
  produce("unloaded", 3);
  raw_client p(broker_->service_url());
  ASSERT_TRUE(p.connect());
  p.send(producer_command("unloaded"));
  auto created = p.next();
  ASSERT_TRUE(created && created->type() == pb::BaseCommand::PRODUCER_SUCCESS);

  ASSERT_EQ(shfn::testing::admin_request("PUT",
                                         "/admin/v2/persistent/public/default/unloaded/unload", ""),
            204);
  EXPECT_TRUE(has_frame(p.until_pong(), pb::BaseCommand::CLOSE_PRODUCER));
  EXPECT_TRUE(has_frame(c.until_pong(), pb::BaseCommand::CLOSE_CONSUMER));

  c.send(subscribe_command("unloaded", pb::CommandSubscribe::Shared));
  auto again = c.next();
  ASSERT_TRUE(again && again->type() == pb::BaseCommand::SUCCESS);
  c.send(flow(10));
  auto delivered = c.until_pong();
  ASSERT_EQ(delivered.size(), 3u) << "nothing was acknowledged: all three come back";
  EXPECT_EQ(
      shfn::testing::admin_request("PUT", "/admin/v2/persistent/public/default/nothing/unload", ""),
      404);
}

// ------------------------------------------------------------------ what other clients require

// The Java client drops a connection whose PONG has no body (it checks hasPong()).
TEST_F(broker_protocol, a_pong_carries_its_body) {
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  pb::BaseCommand ping;
  ping.set_type(pb::BaseCommand::PING);
  ping.mutable_ping();
  c.send(ping);
  auto pong = c.next();
  ASSERT_TRUE(pong && pong->type() == pb::BaseCommand::PONG);
  EXPECT_TRUE(pong->has_pong());
}

// The Java client reads schema_version unconditionally, and resumes its sequence ids from
// last_sequence_id on every answer, a retried PRODUCER's included.
TEST_F(broker_protocol, producer_success_carries_schema_version_and_last_sequence_id) {
  raw_client p(broker_->service_url());
  ASSERT_TRUE(p.connect());
  p.send(named_producer("resume", "raw"));
  auto created = p.next();
  ASSERT_TRUE(created && created->type() == pb::BaseCommand::PRODUCER_SUCCESS);
  EXPECT_TRUE(created->producer_success().has_schema_version());
  EXPECT_EQ(created->producer_success().last_sequence_id(), -1);
  for (int i = 0; i < 3; ++i) p.write(send_frame(static_cast<std::uint64_t>(i), "m"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.next().has_value());
  p.send(named_producer("resume", "raw"));  // the same producer id again: a retry
  auto retried = p.next();
  ASSERT_TRUE(retried && retried->type() == pb::BaseCommand::PRODUCER_SUCCESS);
  EXPECT_TRUE(retried->producer_success().has_schema_version());
  EXPECT_TRUE(retried->producer_success().has_last_sequence_id());
  EXPECT_EQ(retried->producer_success().last_sequence_id(), -1)
      << "as first answered (Pulsar answers -1 to a retry)";
}

// A schema version on the wire, as Pulsar sends it: 8 bytes, big-endian.
std::string version_bytes(std::int64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8)
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

const std::string user_schema =
    R"({"type":"record","name":"User","fields":[{"name":"id","type":"int"}]})";

void set_avro(pb::Schema* schema, const std::string& definition) {
  schema->set_name("User");
  schema->set_schema_data(definition);
  schema->set_type(pb::Schema::Avro);
}

TEST_F(broker_protocol, schema_commands_are_answered_with_their_request_id) {
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  const std::string topic = "persistent://public/default/schemas";
  const auto get_schema = [&](std::uint64_t request_id, std::optional<std::string> version) {
    pb::BaseCommand get;
    get.set_type(pb::BaseCommand::GET_SCHEMA);
    get.mutable_getschema()->set_request_id(request_id);
    get.mutable_getschema()->set_topic(topic);
    if (version) get.mutable_getschema()->set_schema_version(*version);
    c.send(get);
    auto got = c.next();
    EXPECT_TRUE(got && got->type() == pb::BaseCommand::GET_SCHEMA_RESPONSE);
    EXPECT_EQ(got->getschemaresponse().request_id(), request_id);
    return got->getschemaresponse();
  };
  const auto get_or_create = [&](std::uint64_t request_id) {
    pb::BaseCommand create;
    create.set_type(pb::BaseCommand::GET_OR_CREATE_SCHEMA);
    create.mutable_getorcreateschema()->set_request_id(request_id);
    create.mutable_getorcreateschema()->set_topic(topic);
    set_avro(create.mutable_getorcreateschema()->mutable_schema(), user_schema);
    c.send(create);
    auto got = c.next();
    EXPECT_TRUE(got && got->type() == pb::BaseCommand::GET_OR_CREATE_SCHEMA_RESPONSE);
    EXPECT_EQ(got->getorcreateschemaresponse().request_id(), request_id);
    return got->getorcreateschemaresponse();
  };

  EXPECT_EQ(get_schema(7, std::nullopt).error_code(), pb::TopicNotFound)
      << "a topic without a schema, as Pulsar answers for one";
  EXPECT_EQ(get_or_create(8).error_code(), pb::TopicNotFound) << "the topic must exist";

  c.send(producer_command(topic));  // now it does
  ASSERT_TRUE(c.next());
  auto created = get_or_create(9);
  EXPECT_FALSE(created.has_error_code());
  EXPECT_EQ(created.schema_version(), version_bytes(0));
  EXPECT_EQ(get_or_create(10).schema_version(), version_bytes(0)) << "the same schema again";

  for (const auto& version : {std::optional<std::string>(), std::optional(version_bytes(0))}) {
    auto got = get_schema(11, version);
    EXPECT_FALSE(got.has_error_code());
    EXPECT_EQ(got.schema_version(), version_bytes(0));
    EXPECT_EQ(got.schema().type(), pb::Schema::Avro);
    EXPECT_EQ(got.schema().schema_data(), user_schema);
    EXPECT_EQ(got.schema().name(), "public/default/schemas");
  }
  EXPECT_EQ(get_schema(12, version_bytes(5)).error_code(), pb::TopicNotFound);
  auto empty = get_schema(13, std::string());
  EXPECT_EQ(empty.error_code(), pb::IncompatibleSchema);
  EXPECT_EQ(empty.error_message(), "Empty schema version");
}

// Transactions are not modelled at all; the request id still comes back, so the client fails
// at once instead of waiting out its operation timeout.
TEST_F(broker_protocol, an_unmodelled_command_is_refused_with_its_request_id) {
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  google::protobuf::UnknownFieldSet body;
  body.AddVarint(1, 9);   // CommandNewTxn.request_id
  body.AddVarint(2, 60);  // txn_ttl_seconds
  std::string encoded;
  ASSERT_TRUE(body.SerializeToString(&encoded));
  pb::BaseCommand txn;
  txn.set_type(pb::BaseCommand::NEW_TXN);
  txn.GetReflection()->MutableUnknownFields(&txn)->AddLengthDelimited(pb::BaseCommand::NEW_TXN,
                                                                      encoded);
  c.send(txn);
  auto reply = c.next();
  ASSERT_TRUE(reply && reply->type() == pb::BaseCommand::ERROR);
  EXPECT_EQ(reply->error().request_id(), 9u);
  EXPECT_NE(reply->error().message().find("NEW_TXN"), std::string::npos);
}

TEST_F(broker_protocol, a_producer_schema_gets_its_version_and_a_bad_one_is_refused_by_name) {
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  auto invalid = producer_command("typed");
  set_avro(invalid.mutable_producer()->mutable_schema(), "{}");
  c.send(invalid);
  auto refused = c.next();
  ASSERT_TRUE(refused && refused->type() == pb::BaseCommand::ERROR);
  EXPECT_EQ(refused->error().request_id(), 1u);
  EXPECT_EQ(refused->error().error(), pb::IncompatibleSchema);
  EXPECT_EQ(refused->error().message(), "invalid AVRO schema definition: /: has no \"type\"");

  auto avro = producer_command("typed");
  set_avro(avro.mutable_producer()->mutable_schema(), user_schema);
  c.send(avro);
  auto accepted = c.next();
  ASSERT_TRUE(accepted && accepted->type() == pb::BaseCommand::PRODUCER_SUCCESS);
  EXPECT_EQ(accepted->producer_success().schema_version(), version_bytes(0));

  auto text = producer_command("typed");
  text.mutable_producer()->set_producer_id(2);
  text.mutable_producer()->set_request_id(2);
  text.mutable_producer()->mutable_schema()->set_name("string");
  text.mutable_producer()->mutable_schema()->set_schema_data("");
  text.mutable_producer()->mutable_schema()->set_type(pb::Schema::String);
  c.send(text);
  auto other_type = c.next();
  ASSERT_TRUE(other_type && other_type->type() == pb::BaseCommand::ERROR);
  EXPECT_EQ(other_type->error().error(), pb::IncompatibleSchema);
  EXPECT_EQ(other_type->error().message(),
            "Incompatible schema: exists schema type AVRO, new schema type STRING");
}

// The Java client fails the sends still waiting for a receipt when CLOSE_PRODUCER is answered:
// answered before their receipts, stored messages would be reported as failed (and resent).
TEST_F(broker_protocol, a_close_is_answered_after_the_receipts_of_the_sends_before_it) {
  restart({.listen = "127.0.0.1:0",
           .data_dir = dir_,
           .admin = "",
           .sync_interval = std::chrono::milliseconds(300)});
  raw_client p(broker_->service_url());
  ASSERT_TRUE(p.connect());
  p.send(named_producer("closing", "raw"));
  ASSERT_TRUE(p.next().has_value());
  p.write(send_frame(0, "m0"));
  ASSERT_TRUE(p.next().has_value());  // synced at once; the next sync waits for the interval
  p.write(send_frame(1, "m1"));
  p.write(send_frame(2, "m2"));
  pb::BaseCommand close;
  close.set_type(pb::BaseCommand::CLOSE_PRODUCER);
  close.mutable_close_producer()->set_producer_id(1);
  close.mutable_close_producer()->set_request_id(9);
  p.send(close);
  std::vector<pb::BaseCommand::Type> order;
  for (int i = 0; i < 3; ++i) {
    auto frame = p.next();
    ASSERT_TRUE(frame.has_value());
    order.push_back(frame->type());
  }
  EXPECT_EQ(order, (std::vector<pb::BaseCommand::Type>{pb::BaseCommand::SEND_RECEIPT,
                                                       pb::BaseCommand::SEND_RECEIPT,
                                                       pb::BaseCommand::SUCCESS}));
}

// A full disk (a small tmpfs) is a state, not an error per message: the producer whose write
// failed is closed with nothing acknowledged, SENDs on their way are dropped, re-creating it is
// refused with ProducerBlockedQuotaExceededException saying the disk is full (Pulsar's clients
// then fail their sends at once), a consumer still reads what is stored, and once space returns
// the producer is accepted again and its resend is stored in order: the deduplication mark never
// passed the failed message.
TEST_F(broker_protocol, a_full_disk_closes_producers_refuses_new_ones_and_resumes_with_space) {
  const fs::path disk = dir_ / "small-disk";
  fs::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                 << "); the full-disk case needs one";
  }
  struct unmount_at_exit {
    fs::path at;
    ~unmount_at_exit() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{disk};
  restart({.listen = "127.0.0.1:0", .data_dir = disk / "data", .admin = ""});
  const std::string big(100 * 1024, 'b');
  auto answers_until_pong = [](raw_client& c) {
    std::vector<pb::BaseCommand::Type> types;
    for (const auto& f : c.until_pong()) types.push_back(f.type());
    return types;
  };
  raw_client reader(broker_->service_url());
  ASSERT_TRUE(reader.connect());
  reader.send(subscribe_command("full"));
  ASSERT_TRUE(reader.next().has_value());
  std::uint64_t stored = 0;  // messages with a receipt
  {
    raw_client p(broker_->service_url());
    ASSERT_TRUE(p.connect());
    p.send(named_producer("full", "raw"));
    ASSERT_TRUE(p.next().has_value());
    for (; stored < 40; ++stored) {  // one at a time until the disk is full
      p.write(send_frame(stored, big));
      p.write(send_frame(stored + 1, "small"));  // on its way behind it; may still fit
      auto answer = p.next();
      ASSERT_TRUE(answer.has_value());
      if (answer->type() == pb::BaseCommand::CLOSE_PRODUCER) break;
      ASSERT_EQ(answer->type(), pb::BaseCommand::SEND_RECEIPT);
      auto small = p.next();
      ASSERT_TRUE(small && small->type() == pb::BaseCommand::SEND_RECEIPT);
      ++stored;
    }
    ASSERT_LT(stored, 40u) << "the disk never filled";
    EXPECT_TRUE(answers_until_pong(p).empty()) << "nothing after the close is answered";

    p.send(named_producer("full", "raw"));
    auto refused = p.next();
    ASSERT_TRUE(refused && refused->type() == pb::BaseCommand::ERROR);
    EXPECT_EQ(refused->error().error(), pb::ProducerBlockedQuotaExceededException);
    EXPECT_NE(refused->error().message().find("disk full"), std::string::npos)
        << refused->error().message();
  }
  reader.send(flow(1000));
  EXPECT_EQ(reader.until_pong().size(), stored) << "what is stored can still be read";

  ASSERT_EQ(::mount("tmpfs", disk.c_str(), "tmpfs", MS_REMOUNT, "size=64m"), 0)
      << std::strerror(errno);  // space comes back
  raw_client p(broker_->service_url());
  ASSERT_TRUE(p.connect());
  std::optional<pb::BaseCommand> created;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {  // as a client does: re-create the producer until it is accepted
    p.send(named_producer("full", "raw"));
    created = p.next();
    ASSERT_TRUE(created.has_value());
    if (created->type() != pb::BaseCommand::ERROR) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(50ms);  // the client's back-off
  }
  ASSERT_EQ(created->type(), pb::BaseCommand::PRODUCER_SUCCESS) << "writing resumes by itself";
  EXPECT_EQ(created->producer_success().last_sequence_id(), static_cast<std::int64_t>(stored) - 1);
  p.write(send_frame(stored, big));  // resent, in order
  p.write(send_frame(stored + 1, "s"));
  for (std::uint64_t entry : {stored, stored + 1}) {
    auto receipt = p.next();
    ASSERT_TRUE(receipt && receipt->type() == pb::BaseCommand::SEND_RECEIPT);
    EXPECT_EQ(receipt->send_receipt().message_id().entryid(), entry) << "stored, in order";
  }
}

// Descriptors held open under the data directory, by this process (the broker runs on a thread).
std::size_t files_open_under(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/self/fd", ec)) {
    const auto target = fs::read_symlink(fd.path(), ec);
    if (!ec && target.string().starts_with(dir.string())) ++n;
  }
  return n;
}

// A topic nobody uses gives its descriptors back, and loads again from disk when used: the
// broker's open files depend on the topics in use, not on how many exist.
TEST_F(broker_protocol, an_idle_topic_closes_its_files_and_loads_again_when_used) {
  const fs::path data = dir_ / "idle";
  restart({.listen = "127.0.0.1:0",
           .data_dir = data,
           .admin = "",
           .trim_interval = 20ms,
           .idle_topic_unload = 0ms});
  {
    raw_client p(broker_->service_url());
    ASSERT_TRUE(p.connect());
    p.send(named_producer("idle", "raw"));
    ASSERT_TRUE(p.next().has_value());
    p.write(send_frame(7, "kept"));
    auto receipt = p.next();
    ASSERT_TRUE(receipt && receipt->type() == pb::BaseCommand::SEND_RECEIPT);
    EXPECT_GT(files_open_under(data / "topics"), 0u) << "in use: its log is open";
  }  // the connection goes, and with it the producer
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (files_open_under(data / "topics") > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(files_open_under(data / "topics"), 0u) << "unloaded when idle";

  raw_client p(broker_->service_url());
  ASSERT_TRUE(p.connect());
  p.send(named_producer("idle", "raw"));
  auto created = p.next();
  ASSERT_TRUE(created && created->type() == pb::BaseCommand::PRODUCER_SUCCESS);
  EXPECT_EQ(created->producer_success().last_sequence_id(), 7) << "loaded again, from its log";
}

// A damaged partition count (a crash mid-write on an older version, a disk error) is an error,
// not "not partitioned": that would let producers write to a plain topic no consumer of the
// partitions reads.
TEST_F(broker_protocol, a_damaged_partition_count_is_an_error_not_a_plain_topic) {
  const auto name = wire::parse_topic_name("persistent://public/default/damaged");
  ASSERT_TRUE(name.has_value());
  const fs::path file = storage::partitions_file(dir_, *name);
  fs::create_directories(file.parent_path());
  std::ofstream(file).flush();  // empty
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  pb::BaseCommand metadata;
  metadata.set_type(pb::BaseCommand::PARTITIONED_METADATA);
  metadata.mutable_partitionmetadata()->set_topic(name->str());
  metadata.mutable_partitionmetadata()->set_request_id(3);
  c.send(metadata);
  auto reply = c.next();
  ASSERT_TRUE(reply && reply->type() == pb::BaseCommand::PARTITIONED_METADATA_RESPONSE);
  EXPECT_EQ(reply->partitionmetadataresponse().response(),
            pb::CommandPartitionedTopicMetadataResponse::Failed);
  c.send(producer_command(name->str()));
  auto refused = c.next();
  ASSERT_TRUE(refused && refused->type() == pb::BaseCommand::ERROR) << "no plain topic instead";
}

// ------------------------------------------------------------------ chunks

// Every chunk carries the message's sequence id; each is stored, and only a resend of a chunk
// already stored is a duplicate, also across a broker restart between chunks.
TEST_F(broker_protocol, every_chunk_is_stored_once_across_a_restart) {
  {
    raw_client p(broker_->service_url());
    ASSERT_TRUE(p.connect());
    p.send(named_producer("chunked", "raw"));
    ASSERT_TRUE(p.next().has_value());
    p.write(chunk_frame(0, 0, 3, "aaa"));
    p.write(chunk_frame(0, 1, 3, "bbb"));
    p.write(chunk_frame(0, 0, 3, "aaa"));  // a resend
    std::vector<std::int64_t> entries;
    for (int i = 0; i < 3; ++i) {
      auto receipt = p.next();
      ASSERT_TRUE(receipt && receipt->type() == pb::BaseCommand::SEND_RECEIPT);
      entries.push_back(static_cast<std::int64_t>(receipt->send_receipt().message_id().entryid()));
    }
    EXPECT_EQ(entries, (std::vector<std::int64_t>{0, 1, -1}));
  }
  restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = ""});
  raw_client p(broker_->service_url());
  ASSERT_TRUE(p.connect());
  p.send(named_producer("chunked", "raw"));
  auto created = p.next();
  ASSERT_TRUE(created && created->type() == pb::BaseCommand::PRODUCER_SUCCESS);
  EXPECT_EQ(created->producer_success().last_sequence_id(), -1)
      << "message 0 is not stored whole yet";
  p.write(chunk_frame(0, 1, 3, "bbb"));  // resent after the restart
  p.write(chunk_frame(0, 2, 3, "ccc"));
  p.write(send_frame(1, "next"));
  std::vector<std::int64_t> entries;
  for (int i = 0; i < 3; ++i) {
    auto receipt = p.next();
    ASSERT_TRUE(receipt && receipt->type() == pb::BaseCommand::SEND_RECEIPT);
    entries.push_back(static_cast<std::int64_t>(receipt->send_receipt().message_id().entryid()));
  }
  EXPECT_EQ(entries, (std::vector<std::int64_t>{-1, 2, 3}));

  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command("chunked"));
  ASSERT_TRUE(c.next().has_value());
  c.send(flow(100));
  auto messages = c.until_pong();
  ASSERT_EQ(messages.size(), 4u) << "three chunks and the message after them";
}

// ------------------------------------------------------------------ message ids

TEST_F(broker_protocol, messages_of_a_partition_carry_its_index) {
  produce("persistent://public/default/parts-partition-2", 2);
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command("persistent://public/default/parts-partition-2"));
  ASSERT_TRUE(c.next().has_value());
  c.send(flow(10));
  auto messages = c.until_pong();
  ASSERT_EQ(messages.size(), 2u);
  for (const auto& m : messages) EXPECT_EQ(m.message().message_id().partition(), 2);
}

TEST_F(broker_protocol, the_last_message_id_names_the_last_message_of_a_batch) {
  raw_client p(broker_->service_url());
  ASSERT_TRUE(p.connect());
  p.send(named_producer("batched", "raw"));
  ASSERT_TRUE(p.next().has_value());
  auto meta = metadata(0);
  meta.set_num_messages_in_batch(3);
  meta.set_highest_sequence_id(2);
  p.write(send_frame(meta, "three messages, as far as ids go"));
  ASSERT_TRUE(p.next().has_value());

  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command("batched"));
  ASSERT_TRUE(c.next().has_value());
  pb::BaseCommand last;
  last.set_type(pb::BaseCommand::GET_LAST_MESSAGE_ID);
  last.mutable_getlastmessageid()->set_consumer_id(1);
  last.mutable_getlastmessageid()->set_request_id(5);
  c.send(last);
  auto reply = c.next();
  ASSERT_TRUE(reply && reply->type() == pb::BaseCommand::GET_LAST_MESSAGE_ID_RESPONSE);
  EXPECT_EQ(reply->getlastmessageidresponse().last_message_id().entryid(), 0u);
  EXPECT_EQ(reply->getlastmessageidresponse().last_message_id().batch_index(), 2);
}

// Pulsar closes the consumer before it answers the seek; the C++ client relies on that order.
TEST_F(broker_protocol, a_seek_closes_the_consumer_before_it_is_answered) {
  produce("sought", 3);
  raw_client c(broker_->service_url());
  ASSERT_TRUE(c.connect());
  c.send(subscribe_command("sought"));
  ASSERT_TRUE(c.next().has_value());
  pb::BaseCommand seek;
  seek.set_type(pb::BaseCommand::SEEK);
  seek.mutable_seek()->set_consumer_id(1);
  seek.mutable_seek()->set_request_id(6);
  seek.mutable_seek()->mutable_message_id()->set_ledgerid(0);
  seek.mutable_seek()->mutable_message_id()->set_entryid(1);
  c.send(seek);
  auto first = c.next();
  auto second = c.next();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->type(), pb::BaseCommand::CLOSE_CONSUMER);
  EXPECT_EQ(second->type(), pb::BaseCommand::SUCCESS);
  EXPECT_EQ(second->success().request_id(), 6u);
}

// ------------------------------------------------------------------ access modes

TEST_F(broker_protocol, producer_access_modes_are_enforced) {
  raw_client first(broker_->service_url());
  ASSERT_TRUE(first.connect());
  first.send(named_producer("owned", "first", pb::Exclusive));
  auto granted = first.next();
  ASSERT_TRUE(granted && granted->type() == pb::BaseCommand::PRODUCER_SUCCESS);
  EXPECT_TRUE(granted->producer_success().has_topic_epoch());

  raw_client second(broker_->service_url());
  ASSERT_TRUE(second.connect());
  second.send(named_producer("owned", "second", pb::Exclusive));
  auto refused = second.next();
  ASSERT_TRUE(refused && refused->type() == pb::BaseCommand::ERROR);
  EXPECT_EQ(refused->error().error(), pb::ProducerFenced);

  auto waiting = named_producer("owned", "waiting", pb::WaitForExclusive);
  waiting.mutable_producer()->set_request_id(3);
  second.send(waiting);
  auto queued = second.next();
  ASSERT_TRUE(queued && queued->type() == pb::BaseCommand::PRODUCER_SUCCESS);
  EXPECT_FALSE(queued->producer_success().producer_ready());
  EXPECT_TRUE(second.until_pong().empty()) << "it waits while the first holds the topic";
  second.send(waiting);  // asked again while queued: not ready, as Pulsar answers
  auto not_ready = second.next();
  ASSERT_TRUE(not_ready && not_ready->type() == pb::BaseCommand::ERROR);
  EXPECT_EQ(not_ready->error().error(), pb::ServiceNotReady);

  pb::BaseCommand close;
  close.set_type(pb::BaseCommand::CLOSE_PRODUCER);
  close.mutable_close_producer()->set_producer_id(1);
  close.mutable_close_producer()->set_request_id(2);
  first.send(close);
  auto promoted = second.next();
  ASSERT_TRUE(promoted && promoted->type() == pb::BaseCommand::PRODUCER_SUCCESS);
  EXPECT_EQ(promoted->producer_success().request_id(), 3u);
  EXPECT_TRUE(promoted->producer_success().producer_ready());
  EXPECT_GT(promoted->producer_success().topic_epoch(), granted->producer_success().topic_epoch());

  raw_client fencing(broker_->service_url());
  ASSERT_TRUE(fencing.connect());
  fencing.send(named_producer("owned", "fencing", pb::ExclusiveWithFencing));
  auto fenced = second.next();
  ASSERT_TRUE(fenced && fenced->type() == pb::BaseCommand::CLOSE_PRODUCER)
      << "the waiting producer that got the topic is fenced out";
  auto took = fencing.next();
  ASSERT_TRUE(took && took->type() == pb::BaseCommand::PRODUCER_SUCCESS);
  // A SEND that crossed the CLOSE_PRODUCER is dropped without an answer: a SEND_ERROR would
  // make the C++ client drop the whole connection.
  second.write(send_frame(0, "late"));
  EXPECT_TRUE(second.until_pong().empty());
}

// ------------------------------------------------------------------ delayed delivery

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bytes delayed_frame(std::uint64_t sequence_id, std::int64_t deliver_at) {
  auto meta = metadata(sequence_id);
  if (deliver_at > 0) meta.set_deliver_at_time(deliver_at);
  return send_frame(meta, "m" + std::to_string(sequence_id));
}

// Shared subscriptions hold a delayed message until its time, also across a restart; the
// messages after it are not held up. Exclusive ones deliver at once, as Pulsar's do.
TEST_F(broker_protocol, delayed_messages_wait_for_their_time_on_shared_subscriptions) {
  const std::int64_t deliver_at = wall_ms() + 1500;
  {
    raw_client p(broker_->service_url());
    ASSERT_TRUE(p.connect());
    p.send(named_producer("later", "raw"));
    ASSERT_TRUE(p.next().has_value());
    p.write(delayed_frame(0, deliver_at));
    p.write(delayed_frame(1, 0));
    ASSERT_TRUE(p.next().has_value());
    ASSERT_TRUE(p.next().has_value());
  }
  raw_client exclusive(broker_->service_url());
  ASSERT_TRUE(exclusive.connect());
  auto sub = subscribe_command("later", pb::CommandSubscribe::Exclusive);
  sub.mutable_subscribe()->set_subscription("exclusive");
  exclusive.send(sub);
  ASSERT_TRUE(exclusive.next().has_value());
  exclusive.send(flow(10));
  EXPECT_EQ(exclusive.until_pong().size(), 2u) << "Exclusive: both at once";

  {
    raw_client shared(broker_->service_url());
    ASSERT_TRUE(shared.connect());
    shared.send(subscribe_command("later", pb::CommandSubscribe::Shared));
    ASSERT_TRUE(shared.next().has_value());
    shared.send(flow(10));
    auto now = shared.until_pong();
    ASSERT_EQ(now.size(), 1u) << "Shared: only the message that is not delayed";
    EXPECT_EQ(now[0].message().message_id().entryid(), 1u);
  }
  restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = ""});
  raw_client shared(broker_->service_url());
  ASSERT_TRUE(shared.connect());
  shared.send(subscribe_command("later", pb::CommandSubscribe::Shared));
  ASSERT_TRUE(shared.next().has_value());
  shared.send(flow(10));
  auto message = shared.next();
  ASSERT_TRUE(message && message->type() == pb::BaseCommand::MESSAGE);
  if (message->message().message_id().entryid() == 1u) {
    message = shared.next();  // the unacked, undelayed one comes back at once
    ASSERT_TRUE(message && message->type() == pb::BaseCommand::MESSAGE);
  }
  const std::int64_t arrived = wall_ms();
  EXPECT_EQ(message->message().message_id().entryid(), 0u);
  EXPECT_GE(arrived, deliver_at) << "not before its time";
}

// A Failover consumer hears whether it is the active one after its subscribe succeeded, never
// before: the Go client drops a notice for a consumer it does not know yet.
TEST_F(broker_protocol, a_failover_consumer_hears_it_is_active_after_its_subscribe_succeeded) {
  raw_client first(broker_->service_url());
  ASSERT_TRUE(first.connect());
  first.send(subscribe_command("failover", pb::CommandSubscribe::Failover));
  auto answer = first.next();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->type(), pb::BaseCommand::SUCCESS);
  auto notice = first.next();
  ASSERT_TRUE(notice && notice->type() == pb::BaseCommand::ACTIVE_CONSUMER_CHANGE);
  EXPECT_TRUE(notice->active_consumer_change().is_active());

  raw_client second(broker_->service_url());
  ASSERT_TRUE(second.connect());
  auto standby = subscribe_command("failover", pb::CommandSubscribe::Failover);
  standby.mutable_subscribe()->set_consumer_name("second");
  second.send(standby);
  answer = second.next();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->type(), pb::BaseCommand::SUCCESS);
  notice = second.next();
  ASSERT_TRUE(notice && notice->type() == pb::BaseCommand::ACTIVE_CONSUMER_CHANGE);
  EXPECT_FALSE(notice->active_consumer_change().is_active()) << "the first one stays active";
}

// A namespace's compactionThreshold compacts a topic from the maintenance pass, and the view is
// durable: after a restart, a consumer that reads compacted gets only each key's latest entry,
// while one that does not gets them all.
TEST_F(broker_protocol, a_compaction_threshold_compacts_and_the_view_outlives_a_restart) {
  const broker_options options{.listen = "127.0.0.1:0",
                               .data_dir = dir_,
                               .admin = "127.0.0.1:0",
                               .trim_interval = std::chrono::milliseconds(10)};
  restart(options);
  ::setenv("PULSAR_HTTP", broker_->admin_url().c_str(), 1);
  ASSERT_EQ(shfn::testing::admin_request(
                "PUT", "/admin/v2/namespaces/public/default/compactionThreshold", "1"),
            204);
  const std::string topic = "persistent://public/default/compact-me";
  {
    raw_client p(broker_->service_url());
    ASSERT_TRUE(p.connect());
    p.send(producer_command(topic));
    ASSERT_TRUE(p.next().has_value());
    for (std::uint64_t i = 0; i < 9; ++i) {  // keys k0 k1 k2 k0 ...: entries 6, 7, 8 are latest
      auto meta = metadata(i);
      meta.set_partition_key("k" + std::to_string(i % 3));
      p.write(send_frame(meta, "v" + std::to_string(i)));
    }
    for (int i = 0; i < 9; ++i) ASSERT_TRUE(p.next().has_value());
  }
  // COMPACTED names the generation and the horizon: wait for a compaction of all nine.
  const fs::path compacted =
      storage::compacted_file(storage::topic_dir(dir_, *wire::parse_topic_name(topic)));
  const auto horizon = [&compacted] {
    std::uint64_t generation = 0, below = 0;
    std::ifstream(compacted) >> generation >> below;
    return below;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (horizon() != 9 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(horizon(), 9u) << "the maintenance pass compacted the topic";

  restart({.listen = "127.0.0.1:0", .data_dir = dir_, .admin = ""});
  const auto entries_read = [this, &topic](bool read_compacted, const std::string& name) {
    raw_client c(broker_->service_url());
    EXPECT_TRUE(c.connect());
    auto subscribe = subscribe_command(topic);
    subscribe.mutable_subscribe()->set_subscription(name);
    subscribe.mutable_subscribe()->set_read_compacted(read_compacted);
    c.send(subscribe);
    auto ok = c.next();
    EXPECT_TRUE(ok && ok->type() == pb::BaseCommand::SUCCESS);
    c.send(flow(100));
    std::vector<std::uint64_t> entries;
    for (const auto& m : c.until_pong()) entries.push_back(m.message().message_id().entryid());
    return entries;
  };
  EXPECT_EQ(entries_read(true, "compacted"), (std::vector<std::uint64_t>{6, 7, 8}));
  EXPECT_EQ(entries_read(false, "everything").size(), 9u);
}

}  // namespace
}  // namespace shfn::broker
