// The admin HTTP API against a real broker in-process: HTTP over real sockets, traffic from the
// shfn client. Plus the rates on their own. (The HTTP parser, the server on its own and the
// Prometheus writer are tested in src/http/tests.)

#include "broker/admin.h"

#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "base/notifier.h"
#include "broker/auth.h"
#include "broker/broker.h"
#include "broker/context.h"
#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "http/tests/http_client.h"
#include "storage/layout.h"
#include "support/broker_env.h"
#include "support/coro_test.h"
#include "wire/batch.h"
#include "wire/topic_name.h"

namespace shfn::broker {
namespace {

namespace fs = std::filesystem;
using asio::awaitable;
using asio::ip::tcp;
using json = nlohmann::json;
using namespace std::chrono_literals;
using namespace std::string_literals;
using shfn::testing::unique_topic;

const std::string ns_path = "/admin/v2/persistent/public/default";

// ------------------------------------------------------------------------------ HTTP client

using http::testing::endpoint_of;
using http::testing::http_client;
using http::testing::request;

std::set<std::string> string_set(const json& j) {
  std::set<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) out.insert(v.get<std::string>());
  return out;
}

std::set<std::string> list_topics(const tcp::endpoint& at) {
  return string_set(request(at, "GET", ns_path).body_json());
}

std::string full(const std::string& topic) {
  return "persistent://public/default/" + topic;
}

// ------------------------------------------------------------------------------ the fixture

struct broker_under_test {
  std::string service_url;
  tcp::endpoint admin;
  fs::path data_dir;
};

class admin_api : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.data_dir = fs::temp_directory_path() / unique_topic("shfn-admin-test");
    auto started = broker_thread::start(
        {.listen = "127.0.0.1:0", .data_dir = env_.data_dir, .admin = "127.0.0.1:0"});
    ASSERT_TRUE(started.has_value()) << started.error().message();
    broker_ = std::move(*started);
    env_.service_url = broker_->service_url();
    ASSERT_TRUE(broker_->admin_url().starts_with("http://127.0.0.1:")) << broker_->admin_url();
    env_.admin = endpoint_of(broker_->admin_url());
  }
  void TearDown() override {
    broker_.reset();
    std::error_code ignored;
    fs::remove_all(env_.data_dir, ignored);
  }

  // Runs a coroutine test body against this fixture's broker.
  void run(awaitable<void> (*body)(asio::io_context*, broker_under_test)) {
    shfn::testing::run_coroutine([this, body](asio::io_context& io) { return body(&io, env_); });
  }

  broker_under_test env_;
  std::unique_ptr<broker_thread> broker_;
};

std::unique_ptr<client::client> make_client(asio::io_context& io, const broker_under_test& b) {
  auto c = client::client::create(io.get_executor(),
                                  {.service_url = b.service_url, .operation_timeout = 20s});
  EXPECT_TRUE(c.has_value());
  return c ? std::move(*c) : nullptr;
}

client::outgoing_message text(const std::string& s) {
  return {.payload = bytes(s.begin(), s.end())};
}

// Sends every message and waits for all receipts. Not producer::send(): it hands a capturing
// lambda straight to a coroutine, which GCC 12 destroys twice (ASan: heap-use-after-free).
awaitable<bool> send_all(client::producer* p, std::vector<client::outgoing_message> messages) {
  int failures = 0;
  const client::send_callback done = [&failures](result<wire::message_id> r) {
    if (!r) ++failures;
  };
  for (auto& m : messages) co_await p->send_async(std::move(m), done);
  const auto flushed = co_await p->flush();
  co_return flushed.has_value() && failures == 0;
}

// Polls `target` until `done` holds for its JSON, or 10 s passed; returns the last JSON. The
// broker takes acks asynchronously, so some stats settle a moment after the client acted.
awaitable<json> wait_for_json(tcp::endpoint at, std::string target,
                              std::function<bool(const json&)> done) {
  const auto deadline = shfn::clock::now() + 10s;
  json last;
  while (true) {
    last = request(at, "GET", target).body_json();
    if (done(last) || shfn::clock::now() > deadline) co_return last;
    co_await shfn::yield_now();  // lets the client run (flush its acks) between polls
  }
}

// ------------------------------------------------------------------------------ topics

awaitable<void> partitioned_topic_lifecycle(asio::io_context* io, broker_under_test b) {
  const std::string topic = unique_topic("part");
  const std::string path = ns_path + "/" + topic;
  EXPECT_EQ(request(b.admin, "PUT", path + "/partitions", "3").status, 204);
  EXPECT_EQ(request(b.admin, "PUT", path + "/partitions", "3").status, 409);
  auto meta = request(b.admin, "GET", path + "/partitions");
  EXPECT_EQ(meta.status, 200);
  EXPECT_EQ(meta.field("content-type"), "application/json");
  EXPECT_EQ(meta.body_json(), json({{"partitions", 3}, {"deleted", false}}));
  EXPECT_TRUE(string_set(request(b.admin, "GET", ns_path + "/partitioned").body_json())
                  .contains(full(topic)));

  auto c = make_client(*io, b);
  CO_ASSERT_TRUE(c != nullptr);
  const client::producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  std::vector<client::outgoing_message> keyed;
  for (int i = 0; i < 30; ++i) {
    keyed.push_back(text("m" + std::to_string(i)));
    keyed.back().key = "k" + std::to_string(i % 10);
  }
  const bool sent = co_await send_all(prod->get(), std::move(keyed));
  CO_ASSERT_TRUE(sent);
  const auto listed = list_topics(b.admin);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(listed.contains(full(topic) + "-partition-" + std::to_string(i)));
  }
  EXPECT_FALSE(listed.contains(full(topic))) << "the base name is not a topic of its own";

  std::uint64_t total = 0;
  int with_messages = 0;
  for (int i = 0; i < 3; ++i) {
    auto stats = request(b.admin, "GET", path + "-partition-" + std::to_string(i) + "/stats");
    EXPECT_EQ(stats.status, 200);
    const auto in = stats.body_json().value("msgInCounter", std::uint64_t{0});
    total += in;
    if (in > 0) ++with_messages;
  }
  EXPECT_EQ(total, 30u);
  EXPECT_GT(with_messages, 1) << "ten keys should reach several partitions";
  auto summed = request(b.admin, "GET", path + "/partitioned-stats").body_json();
  EXPECT_EQ(summed.value("msgInCounter", 0), 30);
  EXPECT_EQ(summed["partitions"].size(), 3u);
  EXPECT_EQ(request(b.admin, "GET", path + "/stats").status, 404) << "stats are per partition";

  EXPECT_EQ(request(b.admin, "DELETE", path + "/partitions").status, 412)
      << "a connected producer blocks deletion without force";
  co_await (*prod)->close();
  EXPECT_EQ(request(b.admin, "DELETE", path + "/partitions").status, 204);

  for (const auto& name : list_topics(b.admin)) {
    EXPECT_FALSE(name.starts_with(full(topic))) << name;
  }
  EXPECT_FALSE(string_set(request(b.admin, "GET", ns_path + "/partitioned").body_json())
                   .contains(full(topic)));
  EXPECT_EQ(request(b.admin, "GET", path + "/partitions").body_json(),
            json({{"partitions", 0}, {"deleted", false}}));
  auto parsed = wire::parse_topic_name(topic);
  CO_ASSERT_TRUE(parsed.has_value());
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(fs::exists(storage::topic_dir(b.data_dir, parsed->partition_of(i)))) << i;
  }
  EXPECT_FALSE(fs::exists(storage::partitions_file(b.data_dir, *parsed)));
  EXPECT_EQ(request(b.admin, "DELETE", path + "/partitions").status, 404);
}
TEST_F(admin_api, partitioned_topic_lifecycle) {
  run(partitioned_topic_lifecycle);
}

TEST_F(admin_api, partition_counts_are_validated) {
  const std::string path = ns_path + "/" + unique_topic("count") + "/partitions";
  EXPECT_EQ(request(env_.admin, "PUT", path, "abc").status, 400);
  EXPECT_EQ(request(env_.admin, "PUT", path, "").status, 400);
  EXPECT_EQ(request(env_.admin, "PUT", path, "2.5").status, 400);
  EXPECT_EQ(request(env_.admin, "PUT", path, "0").status, 406);
  EXPECT_EQ(request(env_.admin, "PUT", path, "-3").status, 406);
  EXPECT_EQ(request(env_.admin, "PUT", path, "100000").status, 412);
  EXPECT_EQ(request(env_.admin, "PUT", path, "99999999999999999999999").status, 400);
  EXPECT_EQ(request(env_.admin, "GET", path).body_json(),
            json({{"partitions", 0}, {"deleted", false}}));
  EXPECT_EQ(request(env_.admin, "PUT", ns_path + "/x-partition-1/partitions", "2").status, 412);
}

TEST_F(admin_api, non_partitioned_topics_are_created_and_deleted) {
  const std::string topic = unique_topic("plain");
  const std::string path = ns_path + "/" + topic;
  EXPECT_EQ(request(env_.admin, "DELETE", path).status, 404);
  EXPECT_EQ(request(env_.admin, "GET", path + "/stats").status, 404);
  EXPECT_EQ(request(env_.admin, "PUT", path).status, 204);
  EXPECT_EQ(request(env_.admin, "PUT", path).status, 409);
  EXPECT_EQ(request(env_.admin, "PUT", path + "/partitions", "2").status, 409)
      << "a non-partitioned topic of that name exists";
  EXPECT_TRUE(list_topics(env_.admin).contains(full(topic)));
  auto stats = request(env_.admin, "GET", path + "/stats");
  EXPECT_EQ(stats.status, 200);
  EXPECT_EQ(stats.body_json().value("msgInCounter", -1), 0);
  EXPECT_EQ(request(env_.admin, "GET", path + "/subscriptions").body_json(), json::array());
  EXPECT_EQ(request(env_.admin, "DELETE", path).status, 204);
  EXPECT_FALSE(list_topics(env_.admin).contains(full(topic)));
  EXPECT_EQ(request(env_.admin, "DELETE", path).status, 404);

  const std::string partitioned = ns_path + "/" + unique_topic("pt");
  EXPECT_EQ(request(env_.admin, "PUT", partitioned + "/partitions", "2").status, 204);
  EXPECT_EQ(request(env_.admin, "PUT", partitioned).status, 409);
  EXPECT_EQ(request(env_.admin, "DELETE", partitioned).status, 409)
      << "a partitioned topic is deleted through /partitions";
}

TEST_F(admin_api, bad_names_are_refused) {
  EXPECT_EQ(request(env_.admin, "GET", ns_path + "/bad%00name/stats").status, 400);
  EXPECT_EQ(request(env_.admin, "GET", ns_path + "/a%2Fb/stats").status, 400);
  EXPECT_EQ(request(env_.admin, "GET", "/admin/v2/persistent/bad!tenant/default").status, 400);
  EXPECT_EQ(request(env_.admin, "GET", ns_path + "/%zz/stats").status, 400);
  EXPECT_EQ(
      request(env_.admin, "GET", ns_path + "/" + unique_topic("nope") + "/subscriptions").status,
      404);
}

// ------------------------------------------------------------------------------ stats

awaitable<void> stats_reflect_traffic(asio::io_context* io, broker_under_test b) {
  const std::string topic = unique_topic("stats");
  const std::string path = ns_path + "/" + topic;
  auto c = make_client(*io, b);
  CO_ASSERT_TRUE(c != nullptr);
  const client::consumer_options co{.topic = topic,
                                    .subscription = "sub",
                                    .position = client::initial_position::earliest,
                                    .name = "reader-1"};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  const client::producer_options po{.topic = topic, .name = "writer-1"};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  constexpr int sent = 10;
  constexpr int acked = 4;
  std::uint64_t payload_bytes = 0;
  std::vector<client::outgoing_message> messages;
  for (int i = 0; i < sent; ++i) {
    messages.push_back(text("message-" + std::to_string(i)));
    payload_bytes += messages.back().payload.size();
  }
  const bool all_sent = co_await send_all(prod->get(), std::move(messages));
  CO_ASSERT_TRUE(all_sent);
  for (int i = 0; i < acked; ++i) {
    auto m = co_await (*cons)->receive(shfn::clock::now() + 10s);
    CO_ASSERT_OK(m);
    (*cons)->acknowledge(*m);
  }

  const std::function<bool(const json&)> settled = [](const json& s) {
    if (!s.contains("subscriptions") || !s["subscriptions"].contains("sub")) return false;
    const json& sub = s["subscriptions"]["sub"];
    return sub.value("msgBacklog", 0) == sent - acked &&
           sub.value("unackedMessages", 0) == sent - acked && sub.value("msgOutCounter", 0) == sent;
  };
  const std::string stats_path = path + "/stats";
  const json stats = co_await wait_for_json(b.admin, stats_path, settled);
  CO_ASSERT_TRUE(settled(stats));
  EXPECT_EQ(stats["msgInCounter"], sent);
  // Entries as stored, metadata and all, as Pulsar counts them; each went out once, unbatched.
  const auto bytes_in = stats["bytesInCounter"].get<std::uint64_t>();
  EXPECT_GT(bytes_in, payload_bytes + sent * 10) << "metadata counted too";
  EXPECT_EQ(stats["bytesOutCounter"], bytes_in);
  EXPECT_EQ(stats["backlogSize"], (sent - acked) * (bytes_in / sent));
  EXPECT_EQ(stats["backlogQuotaLimitSize"], -1);
  EXPECT_EQ(stats["deduplicationStatus"], "Enabled");
  EXPECT_EQ(stats["ownerBroker"],
            b.admin.address().to_string() + ":" + std::to_string(b.admin.port()));
  EXPECT_GT(stats["storageSize"].get<std::uint64_t>(), payload_bytes);
  EXPECT_TRUE(stats["msgRateIn"].is_number());
  EXPECT_TRUE(stats["msgThroughputIn"].is_number());
  CO_ASSERT_TRUE(stats["publishers"].size() == 1);
  const json& publisher = stats["publishers"][0];
  EXPECT_EQ(publisher["producerName"], "writer-1");
  EXPECT_TRUE(publisher["address"].get<std::string>().starts_with("/127.0.0.1:")) << publisher;
  EXPECT_TRUE(std::regex_match(publisher["connectedSince"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << publisher;
  const json& sub = stats["subscriptions"]["sub"];
  EXPECT_EQ(sub["bytesOutCounter"], bytes_in);
  EXPECT_EQ(sub["backlogSize"], stats["backlogSize"]);
  EXPECT_EQ(sub["type"], "Exclusive");
  EXPECT_TRUE(sub["msgRateOut"].is_number());
  CO_ASSERT_TRUE(sub["consumers"].size() == 1);
  const json& consumer = sub["consumers"][0];
  EXPECT_EQ(consumer["consumerName"], "reader-1");
  EXPECT_EQ(consumer["msgOutCounter"], sent);
  EXPECT_EQ(consumer["unackedMessages"], sent - acked);
  EXPECT_TRUE(consumer["availablePermits"].is_number_integer());
  EXPECT_EQ(request(b.admin, "GET", path + "/subscriptions").body_json(), json::array({"sub"}));
  const json internal = request(b.admin, "GET", path + "/internalStats").body_json();
  EXPECT_EQ(internal["numberOfEntries"], sent);
  EXPECT_EQ(internal["lastConfirmedEntry"], "0:" + std::to_string(sent - 1));
  EXPECT_EQ(internal["cursors"]["sub"]["markDeletePosition"], "0:" + std::to_string(acked - 1));
  EXPECT_EQ(internal["cursors"]["sub"]["individuallyDeletedMessages"], "[]");

  co_await (*prod)->close();
  co_await (*cons)->close();
  const auto after = request(b.admin, "GET", path + "/stats").body_json();
  EXPECT_EQ(after["publishers"], json::array());
  EXPECT_EQ(after["subscriptions"]["sub"]["consumers"], json::array());
  EXPECT_EQ(after["subscriptions"]["sub"]["msgBacklog"], sent - acked) << "the cursor is durable";
}
TEST_F(admin_api, stats_reflect_traffic) {
  run(stats_reflect_traffic);
}

// ------------------------------------------------------------------------------ deletions

awaitable<void> subscription_with_consumers_is_kept(asio::io_context* io, broker_under_test b) {
  const std::string topic = unique_topic("subdel");
  const std::string path = ns_path + "/" + topic;
  auto c = make_client(*io, b);
  CO_ASSERT_TRUE(c != nullptr);
  const client::consumer_options co{.topic = topic, .subscription = "busy"};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  auto refused = request(b.admin, "DELETE", path + "/subscription/busy");
  EXPECT_EQ(refused.status, 412);
  EXPECT_EQ(refused.body_json()["reason"], "Subscription has active connected consumers");
  EXPECT_EQ(request(b.admin, "GET", path + "/subscriptions").body_json(), json::array({"busy"}));
  co_await (*cons)->close();
  EXPECT_EQ(request(b.admin, "DELETE", path + "/subscription/busy").status, 204);
  EXPECT_EQ(request(b.admin, "GET", path + "/subscriptions").body_json(), json::array());
  EXPECT_EQ(request(b.admin, "DELETE", path + "/subscription/busy").status, 404);

  // With force the consumer is closed first. This thread is blocked in the requests, so the
  // client cannot subscribe again before the listing.
  const client::consumer_options forced{.topic = topic, .subscription = "forced"};
  auto second = co_await c->subscribe(forced);
  CO_ASSERT_OK(second);
  EXPECT_EQ(request(b.admin, "DELETE", path + "/subscription/forced?force=true").status, 204);
  EXPECT_EQ(request(b.admin, "GET", path + "/subscriptions").body_json(), json::array());
  co_await (*second)->close();
}
// peek-messages and get-message-by-id: the payload as the body, the metadata in X-Pulsar-*
// fields; a compressed batch comes decompressed and whole, for pulsar-admin to split.
awaitable<void> messages_are_peeked_as_pulsar_admin_reads_them(asio::io_context* io,
                                                               broker_under_test b) {
  const std::string topic = unique_topic("peek");
  const std::string path = ns_path + "/" + topic;
  auto c = make_client(*io, b);
  CO_ASSERT_TRUE(c != nullptr);
  const client::producer_options po{.topic = topic,
                                    .name = "peeker",
                                    .batching = true,
                                    .batching_max_delay = 50ms,
                                    .compression = wire::pb::LZ4};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  std::vector<client::outgoing_message> messages;
  for (int i = 0; i < 3; ++i) {
    messages.push_back(text("peeked-" + std::to_string(i)));
    messages.back().key = "k";
    messages.back().properties = {{"n", std::to_string(i)}};
  }
  const bool sent = co_await send_all(prod->get(), std::move(messages));
  CO_ASSERT_TRUE(sent);
  EXPECT_EQ(request(b.admin, "PUT", path + "/subscription/s").status, 204);
  CO_ASSERT_TRUE(
      request(b.admin, "POST", path + "/subscription/s/resetcursor", R"({"ledgerId": -1})")
          .status == 204);

  for (const std::string& target :
       {path + "/subscription/s/position/1", path + "/ledger/0/entry/0"}) {
    SCOPED_TRACE(target);
    auto peeked = request(b.admin, "GET", target);
    CO_ASSERT_TRUE(peeked.status == 200);
    EXPECT_EQ(peeked.field("x-pulsar-message-id"), "0:0");
    EXPECT_EQ(peeked.field("x-pulsar-producer-name"), "peeker");
    EXPECT_EQ(peeked.field("x-pulsar-num-batch-message"), "3");
    EXPECT_EQ(peeked.field("x-pulsar-uncompressed-size"), std::to_string(peeked.body.size()));
    auto batch = wire::decode_batch(as_bytes(peeked.body), 3);
    CO_ASSERT_TRUE(batch.has_value());
    for (int i = 0; i < 3; ++i) {
      const auto& m = (*batch)[static_cast<std::size_t>(i)];
      EXPECT_EQ(std::string(m.payload.begin(), m.payload.end()), "peeked-" + std::to_string(i));
      EXPECT_EQ(m.metadata.partition_key(), "k");
    }
  }
  EXPECT_EQ(request(b.admin, "GET", path + "/subscription/s/position/2").status, 404)
      << "one entry only: the batch";
  EXPECT_EQ(request(b.admin, "GET", path + "/ledger/7/entry/0").status, 404);
  EXPECT_EQ(request(b.admin, "GET", path + "/ledger/0/entry/9").status, 404);
  co_await (*prod)->close();
}

TEST_F(admin_api, messages_are_peeked_as_pulsar_admin_reads_them) {
  run(messages_are_peeked_as_pulsar_admin_reads_them);
}

TEST_F(admin_api, subscription_with_consumers_is_kept) {
  run(subscription_with_consumers_is_kept);
}

awaitable<void> deleting_a_topic_closes_its_producer(asio::io_context* io, broker_under_test b) {
  const std::string topic = unique_topic("topicdel");
  const std::string path = ns_path + "/" + topic;
  auto c = make_client(*io, b);
  CO_ASSERT_TRUE(c != nullptr);
  const client::producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  std::vector<client::outgoing_message> before = {text("before")};
  const bool first = co_await send_all(prod->get(), std::move(before));
  CO_ASSERT_TRUE(first);
  EXPECT_EQ(request(b.admin, "DELETE", path).status, 412);
  EXPECT_TRUE(list_topics(b.admin).contains(full(topic)));
  EXPECT_EQ(request(b.admin, "DELETE", path + "?force=true").status, 204);
  // This thread is blocked in the requests: the producer cannot have re-created it yet.
  EXPECT_FALSE(list_topics(b.admin).contains(full(topic)));
  EXPECT_EQ(request(b.admin, "GET", path + "/stats").status, 404);

  // The producer was closed by the broker; it reconnects, which creates the topic afresh.
  std::vector<client::outgoing_message> after = {text("after")};
  const bool second = co_await send_all(prod->get(), std::move(after));
  CO_ASSERT_TRUE(second);
  EXPECT_TRUE(list_topics(b.admin).contains(full(topic)));
  EXPECT_EQ(request(b.admin, "GET", path + "/stats").body_json()["msgInCounter"], 1);
  co_await (*prod)->close();
}
TEST_F(admin_api, deleting_a_topic_closes_its_producer) {
  run(deleting_a_topic_closes_its_producer);
}

// ------------------------------------------------------------------------------ metrics

awaitable<void> metrics_are_prometheus_text(asio::io_context* io, broker_under_test b) {
  const std::string topic = unique_topic("metrics");
  auto c = make_client(*io, b);
  CO_ASSERT_TRUE(c != nullptr);
  const client::consumer_options co{
      .topic = topic, .subscription = "m-sub", .position = client::initial_position::earliest};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  const client::producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  std::vector<client::outgoing_message> messages = {text("abcd"), text("abcd"), text("abcd")};
  const bool sent = co_await send_all(prod->get(), std::move(messages));
  CO_ASSERT_TRUE(sent);
  for (int i = 0; i < 3; ++i) {
    auto m = co_await (*cons)->receive(shfn::clock::now() + 10s);
    CO_ASSERT_OK(m);
  }

  auto reply = request(b.admin, "GET", "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.field("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::regex sample(
      R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")re"
      R"re((,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?))re");
  const std::regex comment(
      R"re(# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge)))re");
  std::map<std::string, std::string> samples;  // series -> value
  std::set<std::string> typed;
  std::istringstream lines(reply.body);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (line.starts_with("#")) {
      EXPECT_TRUE(std::regex_match(line, comment)) << line;
      if (line.starts_with("# TYPE ")) typed.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    CO_ASSERT_TRUE(std::regex_match(line, m, sample));
    EXPECT_TRUE(typed.contains(m[1].str())) << "no TYPE before " << line;
    samples[line.substr(0, line.rfind(' '))] = line.substr(line.rfind(' ') + 1);
  }
  const std::string t = "topic=\"" + full(topic) + "\"";
  EXPECT_EQ(samples["shfn_topic_messages_in_total{" + t + "}"], "3");
  EXPECT_GT(std::stoull(samples["shfn_topic_bytes_in_total{" + t + "}"]), 12u)
      << "three 4-byte payloads, and their metadata";
  EXPECT_GT(std::stoull(samples["shfn_topic_storage_bytes{" + t + "}"]), 12u);
  const std::string s = "{" + t + ",subscription=\"m-sub\"}";
  EXPECT_EQ(samples["shfn_subscription_messages_out_total" + s], "3");
  EXPECT_TRUE(samples.contains("shfn_subscription_backlog" + s));
  EXPECT_EQ(samples["shfn_subscription_unacked_messages" + s], "3") << "received, never acked";
  EXPECT_GE(std::stoi(samples["shfn_broker_connections"]), 1);
  EXPECT_GE(std::stoi(samples["shfn_broker_topics"]), 1);
  co_await (*prod)->close();
  co_await (*cons)->close();
}
TEST_F(admin_api, metrics_are_prometheus_text) {
  run(metrics_are_prometheus_text);
}

// The mark survives a restart: the topic is still terminated, at the same message.
TEST_F(admin_api, a_terminated_topic_stays_terminated_after_a_restart) {
  const std::string topic = ns_path + "/ended";
  ASSERT_EQ(request(env_.admin, "PUT", topic).status, 204);
  auto first = request(env_.admin, "POST", topic + "/terminate");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body_json()["entryId"], -1);

  broker_.reset();
  auto started = broker_thread::start(
      {.listen = "127.0.0.1:0", .data_dir = env_.data_dir, .admin = "127.0.0.1:0"});
  ASSERT_TRUE(started.has_value()) << started.error().message();
  broker_ = std::move(*started);
  env_.admin = endpoint_of(broker_->admin_url());
  EXPECT_EQ(request(env_.admin, "GET", topic + "/internalStats").body_json()["state"],
            "Terminated");
  EXPECT_EQ(request(env_.admin, "POST", topic + "/terminate").body_json(), first.body_json());
  const auto info = request(env_.admin, "GET", topic + "/internal-info").body_json();
  EXPECT_EQ(info["terminatedPosition"], json({{"ledgerId", 0}, {"entryId", -1}}));
}

TEST_F(admin_api, health_answers_ok) {
  auto reply = request(env_.admin, "GET", "/admin/v2/brokers/health");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok");
  EXPECT_EQ(reply.field("content-type"), "text/plain");
}

// With token authentication on, the API wants a valid bearer token; the health check does not.
TEST(admin_auth, requests_need_a_valid_bearer_token) {
  const fs::path dir = fs::temp_directory_path() / unique_topic("shfn-admin-auth-test");
  fs::create_directories(dir);
  std::ofstream(dir / "secret.key", std::ios::binary) << "admin test secret";
  auto started = broker_thread::start({.listen = "127.0.0.1:0",
                                       .data_dir = dir / "data",
                                       .admin = "127.0.0.1:0",
                                       .token_secret_file = dir / "secret.key"});
  ASSERT_TRUE(started.has_value()) << started.error().message();
  const tcp::endpoint at = endpoint_of((*started)->admin_url());
  auto with_token = [&](const std::string& token) {
    http_client c(at);
    c.send("GET " + ns_path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n" +
           "Authorization: Bearer " + token + "\r\n\r\n");
    return c.read_reply().status;
  };
  EXPECT_EQ(request(at, "GET", ns_path).status, 401);
  EXPECT_EQ(request(at, "GET", "/metrics").status, 401);
  EXPECT_EQ(with_token(token_authenticator("another key").sign("x")), 401);
  EXPECT_EQ(with_token(token_authenticator("admin test secret").sign("x")), 200);
  EXPECT_EQ(request(at, "GET", "/admin/v2/brokers/health").status, 200);
  started->reset();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

// ------------------------------------------------------------------------------ HTTP

TEST_F(admin_api, garbage_gets_400_and_the_next_connection_is_served) {
  const std::vector<std::string> garbage_inputs = {
      "HELLO THERE\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n"s,
      "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
      "GET /metrics HTTP/1.1\r\n folded: line\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET metrics HTTP/1.1\r\n\r\n",
      "GET /%zz HTTP/1.1\r\n\r\n",
      "GET  /metrics HTTP/1.1\r\n\r\n"};
  for (const std::string& garbage : garbage_inputs) {
    http_client c(env_.admin);
    c.send(garbage);
    auto reply = c.read_reply();
    EXPECT_EQ(reply.status, 400) << garbage;
    EXPECT_EQ(reply.field("connection"), "close");
    EXPECT_TRUE(reply.body_json().contains("reason"));
    EXPECT_TRUE(c.closed_by_server());
  }
  EXPECT_EQ(request(env_.admin, "GET", "/admin/v2/brokers/health").status, 200);
}

TEST_F(admin_api, unsupported_versions_and_encodings) {
  {
    http_client c(env_.admin);
    c.send("GET /metrics HTTP/2.0\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 505);
  }
  {
    http_client c(env_.admin);
    c.send("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 501);
  }
}

TEST_F(admin_api, oversized_requests_are_refused) {
  {
    http_client c(env_.admin);
    c.send("PUT " + ns_path + "/big/partitions HTTP/1.1\r\nContent-Length: 2097152\r\n\r\n");
    c.send(std::string(64 << 10, '7'));
    auto reply = c.read_reply();
    EXPECT_EQ(reply.status, 413);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    http_client c(env_.admin);
    c.send("GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(70 << 10, 'a') + "\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 431);
  }
  {
    // A head that never ends: refused once it is past the limit, not read forever.
    http_client c(env_.admin);
    c.send("GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(80 << 10, 'a'));
    EXPECT_EQ(c.read_reply().status, 431);
  }
  {
    // Just under the limits is fine.
    http_client c(env_.admin);
    const std::string body = "3" + std::string((1 << 20) - 1, ' ');
    c.send("PUT " + ns_path + "/" + unique_topic("big") +
           "/partitions HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           body);
    EXPECT_EQ(c.read_reply().status, 204);
  }
  EXPECT_EQ(request(env_.admin, "GET", "/admin/v2/brokers/health").status, 200);
}

TEST_F(admin_api, unknown_paths_and_wrong_methods) {
  auto missing = request(env_.admin, "GET", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body_json(), json({{"reason", "not found"}}));
  // The address itself is the live view's page (src/ui), as is /ui.
  auto page = request(env_.admin, "GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.field("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>shfn</title>"), std::string::npos);
  EXPECT_EQ(request(env_.admin, "GET", "/ui").body, page.body);
  EXPECT_EQ(request(env_.admin, "POST", "/ui").status, 405);
  // Pulsar's routes that shfn does not serve say so, rather than "not found", which would read
  // as "your tenant does not exist".
  auto unimplemented = request(env_.admin, "POST", ns_path + "/t/offload?x=1");
  EXPECT_EQ(unimplemented.status, 501);
  EXPECT_EQ(unimplemented.body_json()["reason"],
            "POST " + ns_path +
                "/t/offload is part of Pulsar's admin API that the shfn broker does not "
                "implement (docs/broker.md)");
  EXPECT_EQ(request(env_.admin, "GET", "/admin/v3/functions/public/default").status, 501);
  EXPECT_EQ(request(env_.admin, "GET", "/admin/v2/schemas/public/default/t/metadata").status, 501);
  EXPECT_EQ(request(env_.admin, "GET", "/lookup/v2/nothing").status, 501);

  auto wrong = request(env_.admin, "POST", "/metrics");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.field("allow"), "GET");
  EXPECT_EQ(request(env_.admin, "DELETE", "/admin/v2/brokers/health").status, 405);
  EXPECT_EQ(request(env_.admin, "PATCH", ns_path + "/t").status, 405);
  EXPECT_EQ(request(env_.admin, "POST", ns_path + "/t/partitions", "4").status, 409)
      << "t is not partitioned: there is nothing to grow";
  EXPECT_EQ(request(env_.admin, "PUT", ns_path + "/t/stats").status, 405);
  EXPECT_EQ(request(env_.admin, "GET", ns_path + "/t/subscription/s").status, 501);
  EXPECT_EQ(request(env_.admin, "PUT", ns_path).status, 405);
}

TEST_F(admin_api, keep_alive_and_pipelining) {
  http_client c(env_.admin);
  // Two requests in one write; blank lines between requests are tolerated.
  c.send(
      "GET /admin/v2/brokers/health HTTP/1.1\r\nHost: x\r\n\r\n\r\n"
      "GET " +
      ns_path + "/none/partitions HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = c.read_reply();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.field("connection"), "keep-alive");
  auto second = c.read_reply();
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body_json(), json({{"partitions", 0}, {"deleted", false}}));
  // Errors the API answers keep the connection too.
  c.send("GET /nope HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.read_reply().status, 404);
  c.send("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  auto last = c.read_reply();
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(last.field("connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(admin_api, http_1_0_closes_unless_asked_to_keep_alive) {
  {
    http_client c(env_.admin);
    c.send("GET /admin/v2/brokers/health HTTP/1.0\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 200);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    http_client c(env_.admin);
    c.send("GET /admin/v2/brokers/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(c.read_reply().field("connection"), "keep-alive");
    c.send("GET /admin/v2/brokers/health HTTP/1.0\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 200);
    EXPECT_TRUE(c.closed_by_server());
  }
}

TEST_F(admin_api, expect_continue_is_answered_before_the_body) {
  http_client c(env_.admin);
  c.send("PUT " + ns_path + "/" + unique_topic("cont") +
         "/partitions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
  EXPECT_EQ(c.read_reply().status, 100);
  c.send("2");
  EXPECT_EQ(c.read_reply().status, 204);
}

TEST_F(admin_api, random_bytes_never_take_the_server_down) {
  std::mt19937 rng(20240611);  // NOLINT(bugprone-random-generator-seed): reproducible
  const std::string valid =
      "PUT " + ns_path + "/t/partitions HTTP/1.1\r\nContent-Length: 1\r\n\r\n1";
  for (int round = 0; round < 200; ++round) {
    std::string input = valid;
    if (round % 2 == 0) {
      // Random bytes.
      input.resize(std::uniform_int_distribution<std::size_t>(0, 300)(rng));
      for (char& ch : input) ch = static_cast<char>(rng());
    } else {
      // A valid request with a few bytes changed.
      for (int i = 0; i < 3; ++i) {
        input[std::uniform_int_distribution<std::size_t>(0, input.size() - 1)(rng)] =
            static_cast<char>(rng());
      }
    }
    http_client c(env_.admin);
    c.send(input);
    c.finish_sending();
    while (c.read_reply().status != 0) {
    }
  }
  EXPECT_EQ(request(env_.admin, "GET", "/admin/v2/brokers/health").status, 200);
}

// ------------------------------------------------------------------------------ start-up

TEST_F(admin_api, a_busy_admin_address_fails_start_up) {
  const fs::path dir = fs::temp_directory_path() / unique_topic("shfn-admin-busy");
  auto second = broker_thread::start({.listen = "127.0.0.1:0",
                                      .data_dir = dir,
                                      .admin = "127.0.0.1:" + std::to_string(env_.admin.port())});
  EXPECT_FALSE(second.has_value());
  if (!second) {
    EXPECT_EQ(second.error(), make_error_code(asio::error::address_in_use))
        << second.error().message();
  }
  auto bad = broker_thread::start({.listen = "127.0.0.1:0", .data_dir = dir, .admin = "nowhere"});
  EXPECT_FALSE(bad.has_value());
  auto off = broker_thread::start({.listen = "127.0.0.1:0", .data_dir = dir, .admin = ""});
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ((*off)->admin_url(), "");
  off->reset();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

// ------------------------------------------------------------------------------ rates

TEST(admin_rates, rates_are_increases_over_time) {
  rate_meter m;
  const auto t0 = rate_meter::clock::time_point{} + 100s;
  m.sample("a", 10, t0);
  EXPECT_EQ(m.rate("a"), 0.0) << "one sample is no rate";
  m.sample("a", 110, t0 + 2s);
  EXPECT_DOUBLE_EQ(m.rate("a"), 50.0);
  m.sample("a", 110, t0 + 3s);
  EXPECT_DOUBLE_EQ(m.rate("a"), 0.0);
  m.sample("a", 5, t0 + 4s);
  EXPECT_DOUBLE_EQ(m.rate("a"), 5.0) << "a counter that went down restarted from zero";
  m.sample("a", 9, t0 + 4s);
  EXPECT_DOUBLE_EQ(m.rate("a"), 5.0) << "no time passed: the sample is ignored";
  m.sample("b", 1, t0 + 5s);
  m.forget_before(t0 + 5s);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.rate("a"), 0.0);
  EXPECT_EQ(m.rate("missing"), 0.0);
}

}  // namespace
}  // namespace shfn::broker
