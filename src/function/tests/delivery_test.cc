#include "function/delivery.h"

#include <gtest/gtest.h>

#include <string>

namespace shfn::function {
namespace {

using namespace std::chrono_literals;

config::function_spec spec_with(config::guarantee g, config::subscription_kind kind) {
  config::function_spec s;
  s.guarantees = g;
  s.subscription = kind;
  s.max_message_retries = 2;
  return s;
}

TEST(DeliveryPolicy, UnorderedFailuresAreNegativelyAckedThenDeadLettered) {
  const auto p = delivery_policy::for_spec(
      spec_with(config::guarantee::at_least_once, config::subscription_kind::shared));
  EXPECT_FALSE(p.ordered);
  EXPECT_EQ(p.after_failure(1), next_step::negative_ack);
  EXPECT_EQ(p.after_failure(2), next_step::negative_ack);
  EXPECT_EQ(p.after_failure(3), next_step::dead_letter);  // 1 attempt + 2 retries
}

// A negative ack makes the broker send a batch entry again whole, perhaps to another consumer
// of the subscription, which would run the acknowledged neighbours again.
TEST(DeliveryPolicy, UnorderedMessagesOfABatchOfSeveralRetryInPlace) {
  const auto p = delivery_policy::for_spec(
      spec_with(config::guarantee::at_least_once, config::subscription_kind::shared));
  const std::string topic = "persistent://public/default/in";
  const wire::message_id alone{.entry = 7};
  const wire::message_id batch_of_one{.entry = 7, .batch_index = 0, .batch_size = 1};
  const wire::message_id batch_of_two{.entry = 7, .batch_index = 1, .batch_size = 2};
  EXPECT_TRUE(delivery_policy::redelivered_alone(alone, topic));
  EXPECT_TRUE(delivery_policy::redelivered_alone(batch_of_one, topic));
  EXPECT_FALSE(delivery_policy::redelivered_alone(batch_of_two, topic));
  EXPECT_EQ(p.after_failure(1, false), next_step::retry_in_place);
  EXPECT_EQ(p.after_failure(3, false), next_step::dead_letter);
}

TEST(DeliveryPolicy, NonPersistentMessagesRetryInPlace) {
  EXPECT_FALSE(delivery_policy::redelivered_alone(wire::message_id{.entry = 7},
                                                  "non-persistent://public/default/in"));
}

TEST(DeliveryPolicy, OrderedFunctionsRetryInPlace) {
  auto s = spec_with(config::guarantee::at_least_once, config::subscription_kind::key_shared);
  s.retain_key_ordering = true;
  EXPECT_EQ(delivery_policy::for_spec(s).after_failure(1), next_step::retry_in_place);
  const auto failover = delivery_policy::for_spec(
      spec_with(config::guarantee::at_least_once, config::subscription_kind::failover));
  EXPECT_TRUE(failover.ordered);
  const auto eo = delivery_policy::for_spec(
      spec_with(config::guarantee::effectively_once, config::subscription_kind::shared));
  EXPECT_TRUE(eo.ordered);
  EXPECT_EQ(eo.after_failure(3), next_step::dead_letter);
}

TEST(DeliveryPolicy, AtMostOnceNeverRetries) {
  const auto p = delivery_policy::for_spec(
      spec_with(config::guarantee::at_most_once, config::subscription_kind::shared));
  EXPECT_EQ(p.after_failure(1), next_step::dead_letter);
}

TEST(DeliveryPolicy, DelayDoublesUpToTheCap) {
  delivery_policy p{.initial_delay = 100ms, .max_delay = 350ms};
  EXPECT_EQ(p.delay(1), 100ms);
  EXPECT_EQ(p.delay(2), 200ms);
  EXPECT_EQ(p.delay(3), 350ms);
  EXPECT_EQ(p.delay(60), 350ms);
}

TEST(SequenceId, IncreasesWithThePositionInThePartition) {
  const wire::message_id a{.ledger = 7, .entry = 41, .batch_index = -1};
  const wire::message_id b{.ledger = 7, .entry = 41, .batch_index = 3};
  const wire::message_id c{.ledger = 7, .entry = 42, .batch_index = -1};
  const wire::message_id d{.ledger = 8, .entry = 0, .batch_index = -1};
  EXPECT_LT(sequence_id_for(a), sequence_id_for(b));
  EXPECT_LT(sequence_id_for(b), sequence_id_for(c));
  EXPECT_LT(sequence_id_for(c), sequence_id_for(d));
  // The embedded broker's ledger is 0 and its entries grow past 28 bits.
  const wire::message_id big{.ledger = 0, .entry = std::int64_t{1} << 30, .batch_index = -1};
  EXPECT_LT(sequence_id_for(c) >> 40, 8u);
  EXPECT_GT(sequence_id_for(big), sequence_id_for(wire::message_id{.ledger = 0, .entry = 5}));
}

}  // namespace
}  // namespace shfn::function
