// What a dead letter holds and where it goes, without a broker: the input as it came, Pulsar's
// dead-letter properties and why it failed; Knative's error extensions for a flow stage; the
// default topic shared by every partition of the input. (Publishing itself is tested against
// the embedded broker in function_instance_test.cc.)

#include "function/output.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "event/pulsar_binding.h"

namespace shfn::function {
namespace {

using namespace std::chrono_literals;

std::string property(const client::outgoing_message& m, const std::string& name) {
  for (const auto& [k, v] : m.properties) {
    if (k == name) return v;
  }
  return "<unset>";
}

struct publisher_without_broker {
  publisher_without_broker() {
    spec.name = "fn";
    spec.subscription_name = "sub";
  }
  output_publisher make(const stage_options& stage) {
    return output_publisher(*client, spec, stage, 10, metrics, retry);
  }

  asio::io_context io;
  std::unique_ptr<client::client> client = std::move(
      *client::client::create(io.get_executor(), {.service_url = "pulsar://127.0.0.1:1"}));
  log_shipper log{*client, "", "fn", 0};
  function_metrics metrics;
  bool stopping = false;
  retrier retry{.log = log,
                .policy = {.initial = 10ms,
                           .max = 10ms,
                           .pause = [](std::chrono::milliseconds) -> asio::awaitable<bool> {
                             co_return false;
                           }},
                .stopping = stopping};
  config::function_spec spec;
};

client::message failed_input() {
  client::message m;
  m.topic = "persistent://public/default/in-partition-2";
  m.id = {.ledger = 0, .entry = 7, .partition = 2, .batch_index = -1};
  m.payload = bytes{'h', 'i'};
  m.key = "k";
  m.properties = {{"region", "eu"}};
  return m;
}

exec::outcome killed() {
  return {.what = exec::failure::signal,
          .signal = 9,
          .stderr_tail = "out of memory",
          .message = "killed by signal 9"};
}

TEST(output_publisher, a_dead_letter_is_the_input_with_why_it_failed) {
  publisher_without_broker p;
  const stage_options plain;
  const auto out = p.make(plain);
  const auto parked = out.dead_letter_message(failed_input(), killed(), 4);
  EXPECT_EQ(parked.payload, (bytes{'h', 'i'}));
  EXPECT_EQ(parked.key, "k");
  EXPECT_EQ(property(parked, "region"), "eu");
  EXPECT_EQ(property(parked, "REAL_TOPIC"), "persistent://public/default/in-partition-2");
  EXPECT_EQ(property(parked, "ORIGIN_MESSAGE_ID"), failed_input().id.str());
  EXPECT_EQ(property(parked, "SHFN_FUNCTION"), "fn");
  EXPECT_EQ(property(parked, "SHFN_FAILURE"), "signal");
  EXPECT_EQ(property(parked, "SHFN_SIGNAL"), "9");
  EXPECT_EQ(property(parked, "SHFN_STDERR_TAIL"), "out of memory");
  EXPECT_EQ(property(parked, "SHFN_ATTEMPTS"), "4");
}

TEST(output_publisher, every_partition_dead_letters_to_one_default_topic) {
  publisher_without_broker p;
  const stage_options plain;
  const auto out = p.make(plain);
  EXPECT_EQ(out.dead_letter_topic_for(failed_input()), "persistent://public/default/in-sub-DLQ");
  p.spec.dead_letter_topic = "persistent://public/default/parked";
  EXPECT_EQ(out.dead_letter_topic_for(failed_input()), "persistent://public/default/parked");
}

TEST(output_publisher, a_flow_stages_dead_letter_carries_knatives_error_extensions) {
  publisher_without_broker p;
  const stage_options stage{.error_destination = "http://127.0.0.1:1/hook"};
  const auto out = p.make(stage);
  auto o = killed();
  o.exit_code = 503;
  const auto parked = out.dead_letter_message(failed_input(), o, 1);
  auto e = event::decode(parked.properties, parked.payload);
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_EQ(event::attribute(e->event, "knativeerrordest"), "http://127.0.0.1:1/hook");
  EXPECT_EQ(event::attribute(e->event, "knativeerrorcode"), "503");
  EXPECT_EQ(property(parked, "SHFN_ATTEMPTS"), "1");
}

}  // namespace
}  // namespace shfn::function
