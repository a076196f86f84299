// The client against a real broker (Apache Pulsar standalone in CI): what a user of Pulsar's own
// clients would expect to see. The broker comes from the environment (support/broker_env.h).

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/post.hpp>
#include <map>
#include <set>
#include <sstream>

#include "client/client.h"
#include "client/consumer.h"
#include "client/errc.h"
#include "client/producer.h"
#include "support/broker_env.h"
#include "support/coro_test.h"
#include "support/embedded_broker.h"

SHFN_EMBEDDED_BROKER_ENVIRONMENT;

namespace shfn::client {
namespace {

using asio::awaitable;
using namespace std::chrono_literals;
using shfn::testing::env;
using shfn::testing::unique_topic;

class broker : public ::testing::Test {
 protected:
  void SetUp() override {
    if (env("PULSAR_URL").empty()) GTEST_SKIP() << "PULSAR_URL not set: no broker to test against";
  }
};

client_options options() {
  return {.service_url = env("PULSAR_URL"),
          .auth_token = env("PULSAR_TOKEN"),
          .operation_timeout = 20s};
}

std::unique_ptr<client> make_client(asio::io_context& io, client_options o = options()) {
  auto c = client::create(io.get_executor(), std::move(o));
  EXPECT_TRUE(c.has_value());
  return c ? std::move(*c) : nullptr;
}

outgoing_message text(std::string s) {
  return {.payload = bytes(s.begin(), s.end())};
}
std::string text_of(const message& m) {
  return std::string(as_chars(m.payload));
}

// Receives until `count` messages arrived or nothing came for `idle`.
awaitable<std::vector<message>> receive_n(consumer& c, std::size_t count,
                                          std::chrono::milliseconds idle = 10s, bool ack = true) {
  std::vector<message> out;
  while (out.size() < count) {
    auto m = co_await c.receive(clock::now() + idle);
    if (!m) break;
    if (ack) c.acknowledge(*m);
    out.push_back(std::move(*m));
  }
  co_return out;
}

awaitable<void> round_trip_keeps_keys_and_properties(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("roundtrip");
  const consumer_options co{
      .topic = topic, .subscription = "s", .position = initial_position::earliest};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  const producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  for (int i = 0; i < 10; ++i) {
    outgoing_message m = text("msg-" + std::to_string(i));
    m.key = "key-" + std::to_string(i % 3);
    m.properties = {{"index", std::to_string(i)}, {"kind", "test"}};
    auto id = co_await (*prod)->send(std::move(m));
    CO_ASSERT_OK(id);
    EXPECT_GE(id->ledger, 0);
  }
  auto got = co_await receive_n(**cons, 10);
  CO_ASSERT_TRUE(got.size() == 10);
  for (int i = 0; i < 10; ++i) {
    const auto& m = got[static_cast<std::size_t>(i)];
    EXPECT_EQ(text_of(m), "msg-" + std::to_string(i));
    EXPECT_EQ(m.key, "key-" + std::to_string(i % 3));
    EXPECT_EQ(m.properties, (property_list{{"index", std::to_string(i)}, {"kind", "test"}}));
    EXPECT_EQ(m.redelivery_count, 0u);
    EXPECT_GT(m.publish_time, 0u);
  }
  co_await (*prod)->close();
  co_await (*cons)->close();
}
TEST_F(broker, round_trip_keeps_keys_and_properties) {
  shfn::testing::run_coroutine(round_trip_keeps_keys_and_properties);
}

awaitable<void> batches_with_every_codec(asio::io_context& io) {
  auto c = make_client(io);
  for (auto codec :
       {wire::pb::NONE, wire::pb::LZ4, wire::pb::ZLIB, wire::pb::ZSTD, wire::pb::SNAPPY}) {
    const std::string topic = unique_topic("batch-" + wire::pb::CompressionType_Name(codec));
    const consumer_options co{
        .topic = topic, .subscription = "s", .position = initial_position::earliest};
    auto cons = co_await c->subscribe(co);
    CO_ASSERT_OK(cons);
    const producer_options po{.topic = topic,
                              .batching = true,
                              .batching_max_messages = 100,
                              .batching_max_delay = 5ms,
                              .compression = codec};
    auto prod = co_await c->create_producer(po);
    CO_ASSERT_OK(prod);
    int failures = 0;
    for (int i = 0; i < 500; ++i) {
      std::string payload(static_cast<std::size_t>(i % 50), 'x');
      payload += "#" + std::to_string(i);
      co_await (*prod)->send_async(text(payload), [&](result<wire::message_id> r) {
        if (!r) ++failures;
      });
    }
    CO_ASSERT_OK(co_await (*prod)->flush());
    EXPECT_EQ(failures, 0);
    auto got = co_await receive_n(**cons, 500);
    CO_ASSERT_TRUE(got.size() == 500);
    for (int i = 0; i < 500; ++i) {
      std::string expected(static_cast<std::size_t>(i % 50), 'x');
      expected += "#" + std::to_string(i);
      EXPECT_EQ(text_of(got[static_cast<std::size_t>(i)]), expected);
    }
    EXPECT_GE(got.back().id.batch_index, 0) << "messages should arrive batched";
    co_await (*prod)->close();
    co_await (*cons)->close();
  }
}
TEST_F(broker, batches_with_every_codec) {
  shfn::testing::run_coroutine(batches_with_every_codec);
}

// Entries small and large (a broker may send the large ones by a gathered write rather than
// copying them), alone and batched, many in flight at once: every byte arrives, in order (the
// client checks each frame's checksum too).
awaitable<void> large_entries_arrive_intact(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("large");
  const consumer_options co{.topic = topic,
                            .subscription = "s",
                            .position = initial_position::earliest,
                            .receiver_queue_size = 5000};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  auto payload_of = [](int i) {
    static constexpr std::size_t sizes[] = {16300, 16420, 5, 70000, 16384, 300000, 1000};
    std::string p(sizes[static_cast<std::size_t>(i) % std::size(sizes)], '\0');
    for (std::size_t k = 0; k < p.size(); ++k) p[k] = static_cast<char>('a' + (k + i) % 26);
    return p + "#" + std::to_string(i);
  };
  const producer_options single{.topic = topic, .max_pending_messages = 100};
  auto prod = co_await c->create_producer(single);
  CO_ASSERT_OK(prod);
  int failures = 0;
  const int singles = 140;
  for (int i = 0; i < singles; ++i) {
    co_await (*prod)->send_async(text(payload_of(i)), [&](result<wire::message_id> r) {
      if (!r) ++failures;
    });
  }
  CO_ASSERT_OK(co_await (*prod)->flush());
  const producer_options batched{.topic = topic, .batching = true, .batching_max_delay = 5ms};
  auto batch_prod = co_await c->create_producer(batched);
  CO_ASSERT_OK(batch_prod);
  const int batch_messages = 3000;
  for (int i = 0; i < batch_messages; ++i) {
    co_await (*batch_prod)
        ->send_async(text(std::string(100, 'b') + std::to_string(i)),
                     [&](result<wire::message_id> r) {
                       if (!r) ++failures;
                     });
  }
  CO_ASSERT_OK(co_await (*batch_prod)->flush());
  EXPECT_EQ(failures, 0);
  auto got = co_await receive_n(**cons, singles + batch_messages);
  CO_ASSERT_TRUE(got.size() == static_cast<std::size_t>(singles + batch_messages));
  for (int i = 0; i < singles; ++i) {
    CO_ASSERT_TRUE(text_of(got[static_cast<std::size_t>(i)]) == payload_of(i));
  }
  for (int i = 0; i < batch_messages; ++i) {
    CO_ASSERT_TRUE(text_of(got[static_cast<std::size_t>(singles + i)]) ==
                   std::string(100, 'b') + std::to_string(i));
  }
  co_await (*prod)->close();
  co_await (*batch_prod)->close();
  co_await (*cons)->close();
}
TEST_F(broker, large_entries_arrive_intact) {
  shfn::testing::run_coroutine(large_entries_arrive_intact);
}

awaitable<void> partitioned_topic_routes_by_key(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("partitioned");
  CO_ASSERT_TRUE(shfn::testing::admin_request(
                     "PUT", "/admin/v2/persistent/public/default/" + topic + "/partitions", "3") /
                     100 ==
                 2);
  const consumer_options co{
      .topic = topic, .subscription = "s", .position = initial_position::earliest};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  const producer_options po{.topic = topic, .batching = true};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  for (int i = 0; i < 300; ++i) {
    outgoing_message m = text(std::to_string(i));
    m.key = "k" + std::to_string(i % 10);
    co_await (*prod)->send_async(std::move(m), [](result<wire::message_id>) {});
  }
  CO_ASSERT_OK(co_await (*prod)->flush());
  auto got = co_await receive_n(**cons, 300);
  CO_ASSERT_TRUE(got.size() == 300);
  std::map<std::string, int> last_by_key;
  std::map<std::string, std::set<int>> partitions_by_key;
  std::set<int> partitions;
  for (const auto& m : got) {
    int value = std::stoi(text_of(m));
    EXPECT_GT(value, last_by_key.contains(*m.key) ? last_by_key[*m.key] : -1) << "order within key";
    last_by_key[*m.key] = value;
    partitions_by_key[*m.key].insert(m.id.partition);
    partitions.insert(m.id.partition);
  }
  for (const auto& [key, parts] : partitions_by_key) EXPECT_EQ(parts.size(), 1u) << key;
  EXPECT_GT(partitions.size(), 1u) << "ten keys should spread over several partitions";
  co_await (*prod)->close();
  co_await (*cons)->close();
}
TEST_F(broker, partitioned_topic_routes_by_key) {
  if (env("PULSAR_HTTP").empty()) GTEST_SKIP() << "no admin API to create a partitioned topic";
  shfn::testing::run_coroutine(partitioned_topic_routes_by_key);
}

// GET_TOPICS_OF_NAMESPACE lists what exists: topics produced to (persistent ones under
// PERSISTENT, a non-persistent one with a live producer under NON_PERSISTENT, both under ALL),
// and a partitioned topic as its partitions, never by its base name.
awaitable<void> topics_of_a_namespace_are_listed(asio::io_context& io) {
  auto c = make_client(io);
  const std::string prefix = "persistent://public/default/";
  const std::string a = unique_topic("listed-a");
  const std::string b = unique_topic("listed-b");
  const std::string np = "non-persistent://public/default/" + unique_topic("listed-np");
  const std::string parted = unique_topic("listed-parted");
  CO_ASSERT_TRUE(shfn::testing::admin_request(
                     "PUT", "/admin/v2/persistent/public/default/" + parted + "/partitions", "2") /
                     100 ==
                 2);
  const std::vector<std::string> topics = {a, b, np, parted};
  std::vector<std::unique_ptr<producer>> producers;
  for (const std::string& topic : topics) {
    const producer_options po{.topic = topic};
    auto prod = co_await c->create_producer(po);
    CO_ASSERT_OK(prod);
    CO_ASSERT_OK(co_await (*prod)->send(text("exists")));
    producers.push_back(std::move(*prod));
  }
  auto persistent = co_await c->get_topics_of_namespace("public/default", topic_mode::persistent);
  CO_ASSERT_OK(persistent);
  const std::set<std::string> listed(persistent->begin(), persistent->end());
  EXPECT_TRUE(listed.contains(prefix + a));
  EXPECT_TRUE(listed.contains(prefix + b));
  EXPECT_TRUE(listed.contains(prefix + parted + "-partition-0"));
  EXPECT_TRUE(listed.contains(prefix + parted + "-partition-1"));
  EXPECT_FALSE(listed.contains(prefix + parted)) << "partitions, not the partitioned topic";
  EXPECT_FALSE(listed.contains(np)) << "non-persistent topics are not PERSISTENT";
  for (const auto& name : listed) EXPECT_TRUE(name.starts_with("persistent://")) << name;

  auto transient =
      co_await c->get_topics_of_namespace("public/default", topic_mode::non_persistent);
  CO_ASSERT_OK(transient);
  EXPECT_NE(std::find(transient->begin(), transient->end(), np), transient->end());
  EXPECT_EQ(std::find(transient->begin(), transient->end(), prefix + a), transient->end());

  auto all = co_await c->get_topics_of_namespace("public/default", topic_mode::all);
  CO_ASSERT_OK(all);
  EXPECT_NE(std::find(all->begin(), all->end(), np), all->end());
  EXPECT_NE(std::find(all->begin(), all->end(), prefix + a), all->end());

  for (auto& p : producers) co_await p->close();
}
TEST_F(broker, topics_of_a_namespace_are_listed) {
  if (env("PULSAR_HTTP").empty()) GTEST_SKIP() << "no admin API to create a partitioned topic";
  shfn::testing::run_coroutine(topics_of_a_namespace_are_listed);
}

// Drains two consumers in turn until `total` messages arrived or both went quiet.
awaitable<std::pair<std::vector<message>, std::vector<message>>> drain_two(consumer& a, consumer& b,
                                                                           std::size_t total) {
  std::pair<std::vector<message>, std::vector<message>> out;
  int quiet_rounds = 0;
  while (out.first.size() + out.second.size() < total && quiet_rounds < 40) {
    bool any = false;
    for (auto [c, sink] : {std::pair{&a, &out.first}, std::pair{&b, &out.second}}) {
      auto m = co_await c->receive(clock::now() + 50ms);
      if (!m) continue;
      c->acknowledge(*m);
      sink->push_back(std::move(*m));
      any = true;
    }
    quiet_rounds = any ? 0 : quiet_rounds + 1;
  }
  co_return out;
}

awaitable<void> shared_consumers_split_the_work(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("shared");
  const consumer_options co{.topic = topic,
                            .subscription = "work",
                            .type = subscription_type::shared,
                            .position = initial_position::earliest,
                            .receiver_queue_size = 10};
  auto a = co_await c->subscribe(co);
  CO_ASSERT_OK(a);
  auto b = co_await c->subscribe(co);
  CO_ASSERT_OK(b);
  const producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  for (int i = 0; i < 200; ++i) {
    co_await (*prod)->send_async(text(std::to_string(i)), [](result<wire::message_id>) {});
  }
  CO_ASSERT_OK(co_await (*prod)->flush());
  auto [got_a, got_b] = co_await drain_two(**a, **b, 200);
  EXPECT_GT(got_a.size(), 0u);
  EXPECT_GT(got_b.size(), 0u);
  std::set<std::string> all;
  for (const auto& m : got_a) all.insert(text_of(m));
  for (const auto& m : got_b) all.insert(text_of(m));
  EXPECT_EQ(all.size(), 200u) << "every message exactly once across the two consumers";
  EXPECT_EQ(got_a.size() + got_b.size(), 200u);
  co_await (*prod)->close();
  co_await (*a)->close();
  co_await (*b)->close();
}
TEST_F(broker, shared_consumers_split_the_work) {
  shfn::testing::run_coroutine(shared_consumers_split_the_work);
}

awaitable<void> key_shared_keeps_per_key_order(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("keyshared");
  const consumer_options co{.topic = topic,
                            .subscription = "ks",
                            .type = subscription_type::key_shared,
                            .position = initial_position::earliest,
                            .receiver_queue_size = 20};
  auto a = co_await c->subscribe(co);
  CO_ASSERT_OK(a);
  auto b = co_await c->subscribe(co);
  CO_ASSERT_OK(b);
  const producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  for (int i = 0; i < 300; ++i) {
    outgoing_message m = text(std::to_string(i));
    m.key = "key-" + std::to_string(i % 12);
    co_await (*prod)->send_async(std::move(m), [](result<wire::message_id>) {});
  }
  CO_ASSERT_OK(co_await (*prod)->flush());
  auto [got_a, got_b] = co_await drain_two(**a, **b, 300);
  EXPECT_EQ(got_a.size() + got_b.size(), 300u);
  std::map<std::string, int> owner;
  int index = 0;
  for (const auto* got : {&got_a, &got_b}) {
    std::map<std::string, int> last;
    for (const auto& m : *got) {
      int value = std::stoi(text_of(m));
      EXPECT_GT(value, last.contains(*m.key) ? last[*m.key] : -1) << "order within " << *m.key;
      last[*m.key] = value;
      auto [it, fresh] = owner.emplace(*m.key, index);
      EXPECT_EQ(it->second, index) << *m.key << " went to both consumers";
    }
    ++index;
  }
  co_await (*prod)->close();
  co_await (*a)->close();
  co_await (*b)->close();
}
TEST_F(broker, key_shared_keeps_per_key_order) {
  shfn::testing::run_coroutine(key_shared_keeps_per_key_order);
}

awaitable<void> failover_hands_over_when_the_active_consumer_goes(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("failover");
  const consumer_options co{.topic = topic,
                            .subscription = "fo",
                            .type = subscription_type::failover,
                            .position = initial_position::earliest};
  auto a = co_await c->subscribe(co);
  CO_ASSERT_OK(a);
  auto b = co_await c->subscribe(co);
  CO_ASSERT_OK(b);
  const producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  for (int i = 0; i < 20; ++i)
    CO_ASSERT_OK(co_await (*prod)->send(text("first-" + std::to_string(i))));
  auto [got_a, got_b] = co_await drain_two(**a, **b, 20);
  CO_ASSERT_TRUE(got_a.size() + got_b.size() == 20);
  EXPECT_TRUE(got_a.empty() || got_b.empty()) << "only the active consumer receives";
  std::unique_ptr<consumer>& active = got_a.empty() ? *b : *a;
  std::unique_ptr<consumer>& standby = got_a.empty() ? *a : *b;
  co_await active->close();
  for (int i = 0; i < 20; ++i)
    CO_ASSERT_OK(co_await (*prod)->send(text("second-" + std::to_string(i))));
  auto rest = co_await receive_n(*standby, 20);
  CO_ASSERT_TRUE(rest.size() == 20);
  EXPECT_EQ(text_of(rest.front()), "second-0");
  co_await (*prod)->close();
  co_await standby->close();
}
TEST_F(broker, failover_hands_over_when_the_active_consumer_goes) {
  shfn::testing::run_coroutine(failover_hands_over_when_the_active_consumer_goes);
}

awaitable<void> unacked_messages_of_a_departed_consumer_are_redelivered(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("unacked");
  const consumer_options co{.topic = topic,
                            .subscription = "s",
                            .type = subscription_type::shared,
                            .position = initial_position::earliest};
  auto first = co_await c->subscribe(co);
  CO_ASSERT_OK(first);
  const producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  for (int i = 0; i < 10; ++i) CO_ASSERT_OK(co_await (*prod)->send(text(std::to_string(i))));
  auto unacked = co_await receive_n(**first, 10, 10s, /*ack=*/false);
  CO_ASSERT_TRUE(unacked.size() == 10);
  co_await (*first)->close();
  auto second = co_await c->subscribe(co);
  CO_ASSERT_OK(second);
  auto again = co_await receive_n(**second, 10);
  CO_ASSERT_TRUE(again.size() == 10);
  std::set<std::string> values;
  for (const auto& m : again) values.insert(text_of(m));
  EXPECT_EQ(values.size(), 10u);
  co_await (*prod)->close();
  co_await (*second)->close();
}
TEST_F(broker, unacked_messages_of_a_departed_consumer_are_redelivered) {
  shfn::testing::run_coroutine(unacked_messages_of_a_departed_consumer_are_redelivered);
}

awaitable<void> negative_acks_count_up_then_dead_letter(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("nack");
  const consumer_options dlq_co{
      .topic = topic + "-dlq", .subscription = "watch", .position = initial_position::earliest};
  auto dlq = co_await c->subscribe(dlq_co);
  CO_ASSERT_OK(dlq);
  const consumer_options co{.topic = topic,
                            .subscription = "s",
                            .type = subscription_type::shared,
                            .position = initial_position::earliest,
                            .negative_ack_delay = 100ms,
                            .max_redeliver_count = 2,
                            .dead_letter_topic = "persistent://public/default/" + topic + "-dlq"};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  const producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  CO_ASSERT_OK(co_await (*prod)->send(text("poison")));
  std::vector<std::uint32_t> counts;
  for (int i = 0; i < 3; ++i) {
    auto m = co_await (*cons)->receive(clock::now() + 10s);
    CO_ASSERT_OK(m);
    counts.push_back(m->redelivery_count);
    (*cons)->negative_acknowledge(*m);
  }
  EXPECT_EQ(counts, (std::vector<std::uint32_t>{0, 1, 2}));
  auto dead = co_await (*dlq)->receive(clock::now() + 15s);
  CO_ASSERT_OK(dead);
  EXPECT_EQ(text_of(*dead), "poison");
  bool has_origin = false;
  for (const auto& [k, v] : dead->properties) has_origin |= (k == "REAL_TOPIC");
  EXPECT_TRUE(has_origin);
  auto after = co_await (*cons)->receive(clock::now() + 1s);
  EXPECT_FALSE(after.has_value()) << "a dead-lettered message is not delivered again";
  co_await (*prod)->close();
  co_await (*cons)->close();
  co_await (*dlq)->close();
}
TEST_F(broker, negative_acks_count_up_then_dead_letter) {
  shfn::testing::run_coroutine(negative_acks_count_up_then_dead_letter);
}

// send(m, publish_now) publishes the open batch at once, however long its delay: the messages
// queued before it go out with it, in one batch.
awaitable<void> publish_now_sends_the_open_batch(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("pubnow");
  const consumer_options co{
      .topic = topic, .subscription = "s", .position = initial_position::earliest};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  // Without publish_now the batch would wait an hour, and the sends time out after 30 s.
  const producer_options po{
      .topic = topic, .batching = true, .batching_max_delay = std::chrono::hours(1)};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  co_await (*prod)->send_async(text("a"), [](result<wire::message_id>) {});
  co_await (*prod)->send_async(text("b"), [](result<wire::message_id>) {});
  auto sent = co_await (*prod)->send(text("c"), /*publish_now=*/true);
  CO_ASSERT_OK(sent);
  auto got = co_await receive_n(**cons, 3, 10s);
  CO_ASSERT_TRUE(got.size() == 3);
  EXPECT_EQ(text_of(got[0]) + text_of(got[1]) + text_of(got[2]), "abc");
  EXPECT_EQ(got[2].id.batch_size, 3);
  co_await (*prod)->close();
  co_await (*cons)->close();
}
TEST_F(broker, publish_now_sends_the_open_batch) {
  shfn::testing::run_coroutine(publish_now_sends_the_open_batch);
}

// The broker redelivers a batch as a whole: after one message of a batch is negatively acked,
// only that one comes back, not its neighbours, acked or still held by the application (they
// would be processed twice).
awaitable<void> only_the_unacked_messages_of_a_batch_come_back(asio::io_context& io,
                                                               subscription_type type) {
  auto c = make_client(io);
  const std::string topic = unique_topic("batchnack");
  const consumer_options co{.topic = topic,
                            .subscription = "s",
                            .type = type,
                            .position = initial_position::earliest,
                            .negative_ack_delay = 100ms};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  const producer_options po{
      .topic = topic, .batching = true, .batching_max_messages = 5, .batching_max_delay = 1s};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  for (int i = 0; i < 5; ++i) {
    co_await (*prod)->send_async(text("m" + std::to_string(i)), [](result<wire::message_id>) {});
  }
  CO_ASSERT_OK(co_await (*prod)->flush());
  auto first = co_await receive_n(**cons, 5, 10s, /*ack=*/false);
  CO_ASSERT_TRUE(first.size() == 5);
  // The five share one batch, or this would test nothing.
  CO_ASSERT_TRUE(first[2].id.batch_size == 5);
  // m0 and m1 done, m2 failed, m3 and m4 still being worked on.
  (*cons)->acknowledge(first[0]);
  (*cons)->acknowledge(first[1]);
  (*cons)->negative_acknowledge(first[2]);
  auto again = co_await (*cons)->receive(clock::now() + 10s);
  CO_ASSERT_OK(again);
  EXPECT_EQ(text_of(*again), "m2");
  // Pulsar counts redeliveries for shared subscriptions only (an exclusive one is rewound).
  if (type == subscription_type::shared) {
    EXPECT_EQ(again->redelivery_count, 1u);
  }
  auto more = co_await (*cons)->receive(clock::now() + 1s);
  EXPECT_FALSE(more.has_value()) << "delivered again: " << text_of(*more);
  (*cons)->acknowledge(first[3]);
  (*cons)->acknowledge(first[4]);
  (*cons)->acknowledge(*again);
  co_await (*prod)->close();
  co_await (*cons)->close();
  // Wholly acked: a new consumer on the subscription gets nothing.
  auto later = co_await c->subscribe(co);
  CO_ASSERT_OK(later);
  auto after = co_await (*later)->receive(clock::now() + 1s);
  EXPECT_FALSE(after.has_value()) << "the batch was not acked: " << text_of(*after);
  co_await (*later)->close();
}
TEST_F(broker, only_the_unacked_messages_of_a_batch_come_back_shared) {
  shfn::testing::run_coroutine([](asio::io_context& io) {
    return only_the_unacked_messages_of_a_batch_come_back(io, subscription_type::shared);
  });
}
TEST_F(broker, only_the_unacked_messages_of_a_batch_come_back_exclusive) {
  shfn::testing::run_coroutine([](asio::io_context& io) {
    return only_the_unacked_messages_of_a_batch_come_back(io, subscription_type::exclusive);
  });
}

awaitable<void> ack_timeout_redelivers(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("acktimeout");
  const consumer_options co{.topic = topic,
                            .subscription = "s",
                            .type = subscription_type::shared,
                            .position = initial_position::earliest,
                            .ack_timeout = 1s};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  const producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  CO_ASSERT_OK(co_await (*prod)->send(text("slow")));
  auto first = co_await (*cons)->receive(clock::now() + 10s);
  CO_ASSERT_OK(first);
  auto again = co_await (*cons)->receive(clock::now() + 10s);
  CO_ASSERT_OK(again);
  EXPECT_EQ(text_of(*again), "slow");
  EXPECT_EQ(again->redelivery_count, 1u);
  (*cons)->acknowledge(*again);
  co_await (*prod)->close();
  co_await (*cons)->close();
}
TEST_F(broker, ack_timeout_redelivers) {
  shfn::testing::run_coroutine(ack_timeout_redelivers);
}

// A consumer's owner that is stopping wakes its waiting receive() instead of polling with short
// deadlines: the receive returns errc::interrupted, and the next one waits again.
awaitable<void> interrupt_wakes_a_waiting_receive(asio::io_context& io) {
  auto c = make_client(io);
  const consumer_options co{.topic = unique_topic("interrupt"), .subscription = "s"};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  asio::post(io, [&cons] { (*cons)->interrupt(); });  // runs once receive() waits
  auto woken = co_await (*cons)->receive(clock::now() + 60s);
  CO_ASSERT_TRUE(!woken.has_value());
  EXPECT_EQ(woken.error(), errc::interrupted);
  auto again = co_await (*cons)->receive(clock::now() + 50ms);
  CO_ASSERT_TRUE(!again.has_value());
  EXPECT_EQ(again.error(), errc::timeout) << "one interrupt ends one receive";
  co_await (*cons)->close();
}
TEST_F(broker, interrupt_wakes_a_waiting_receive) {
  shfn::testing::run_coroutine(interrupt_wakes_a_waiting_receive);
}

// Collects what the client logs at debug level while it lives, in place of the default logger.
class captured_log {
 public:
  captured_log() : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(text_));
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~captured_log() { spdlog::set_default_logger(previous_); }
  std::size_t lines_with(std::string_view needle) const {
    std::size_t n = 0;
    std::istringstream in(text_.str());
    for (std::string line; std::getline(in, line);) n += line.find(needle) != line.npos;
    return n;
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream text_;
};

// A busy producer name and a busy exclusive subscription are retried until the operation
// timeout, each retry waiting about twice as long as the one before: from 10 ms, 3 s leave room
// for 8 retries (the waits' upper bounds add up to 2.55 s). A back-off drawn twice per retry
// grew 4x and allowed only 4.
awaitable<void> a_busy_name_is_retried_with_a_doubling_back_off(asio::io_context& io) {
  auto c = make_client(io);
  const std::string topic = unique_topic("busy");
  const producer_options named{.topic = topic, .name = "only-one"};
  auto holder = co_await c->create_producer(named);
  CO_ASSERT_OK(holder);
  const consumer_options exclusive{.topic = topic, .subscription = "s"};
  auto owner = co_await c->subscribe(exclusive);
  CO_ASSERT_OK(owner);

  client_options o = options();
  o.operation_timeout = 3s;
  o.initial_backoff = 10ms;
  o.max_backoff = 10s;
  auto retrying = make_client(io, o);
  captured_log log;
  auto second_producer = co_await retrying->create_producer(named);
  CO_ASSERT_TRUE(!second_producer.has_value());
  EXPECT_EQ(second_producer.error(), server_error(wire::pb::ProducerBusy));
  auto second_consumer = co_await retrying->subscribe(exclusive);
  CO_ASSERT_TRUE(!second_consumer.has_value());
  EXPECT_EQ(second_consumer.error(), server_error(wire::pb::ConsumerBusy));
  const std::string full_name = "persistent://public/default/" + topic;
  EXPECT_GE(log.lines_with("producer on " + full_name + ":"), 6u);
  EXPECT_GE(log.lines_with("consumer on " + full_name + ":"), 6u);
  co_await (*holder)->close();
  co_await (*owner)->close();
}
TEST_F(broker, a_busy_name_is_retried_with_a_doubling_back_off) {
  shfn::testing::run_coroutine(a_busy_name_is_retried_with_a_doubling_back_off);
}

awaitable<void> wrong_or_missing_token_is_refused(asio::io_context& io) {
  for (std::string token : {std::string(), std::string("not-a-valid-token")}) {
    client_options o = options();
    o.auth_token = token;
    o.operation_timeout = 5s;
    auto c = make_client(io, o);
    const producer_options po{.topic = unique_topic("auth")};
    auto prod = co_await c->create_producer(po);
    CO_ASSERT_TRUE(!prod.has_value());
    EXPECT_EQ(prod.error(), server_error(wire::pb::AuthenticationError)) << prod.error().message();
  }
}
TEST_F(broker, wrong_or_missing_token_is_refused) {
  if (env("PULSAR_TOKEN").empty()) GTEST_SKIP() << "broker runs without authentication";
  shfn::testing::run_coroutine(wrong_or_missing_token_is_refused);
}

awaitable<void> tls_round_trip(asio::io_context& io) {
  client_options o = options();
  o.service_url = env("PULSAR_TLS_URL");
  o.tls_trust_certs = env("PULSAR_CA");
  auto c = make_client(io, o);
  const std::string topic = unique_topic("tls");
  const consumer_options co{
      .topic = topic, .subscription = "s", .position = initial_position::earliest};
  auto cons = co_await c->subscribe(co);
  CO_ASSERT_OK(cons);
  const producer_options po{.topic = topic};
  auto prod = co_await c->create_producer(po);
  CO_ASSERT_OK(prod);
  CO_ASSERT_OK(co_await (*prod)->send(text("over tls")));
  auto m = co_await (*cons)->receive(clock::now() + 10s);
  CO_ASSERT_OK(m);
  EXPECT_EQ(text_of(*m), "over tls");
  co_await (*prod)->close();
  co_await (*cons)->close();

  // Without the CA the broker's self-signed certificate must be rejected.
  client_options untrusted = o;
  untrusted.tls_trust_certs.clear();
  untrusted.operation_timeout = 3s;
  auto c2 = make_client(io, untrusted);
  auto refused = co_await c2->create_producer(po);
  CO_ASSERT_TRUE(!refused.has_value());
  EXPECT_EQ(refused.error(), errc::tls_failed);
}
TEST_F(broker, tls_round_trip) {
  if (env("PULSAR_TLS_URL").empty()) GTEST_SKIP() << "broker runs without TLS";
  shfn::testing::run_coroutine(tls_round_trip);
}

}  // namespace
}  // namespace shfn::client
