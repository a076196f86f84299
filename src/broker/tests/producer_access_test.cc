// Producer access modes as Pulsar defines them, without sockets: who is admitted, who is
// refused with which error, who is fenced and who waits.

#include "broker/producer_access.h"

#include <gtest/gtest.h>

#include "wire/errc.h"

namespace shfn::broker {
namespace {

namespace pb = wire::pb;

producer_access::request asking(const std::string& name, pb::ProducerAccessMode mode,
                                std::optional<std::uint64_t> epoch = std::nullopt) {
  return {.name = name, .access = mode, .topic_epoch = epoch};
}

TEST(producer_access, shared_producers_share_the_topic) {
  producer_access access;
  EXPECT_TRUE(access.admit(asking("a", pb::Shared)).has_value());
  EXPECT_TRUE(access.admit(asking("b", pb::Shared)).has_value());
  EXPECT_FALSE(access.exclusive_holder().has_value());
}

TEST(producer_access, a_second_exclusive_producer_is_fenced_off) {
  producer_access access;
  auto first = access.admit(asking("a", pb::Exclusive));
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->topic_epoch.has_value());
  auto second = access.admit(asking("b", pb::Exclusive));
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error(), wire::server_error(pb::ProducerFenced));
  auto shared = access.admit(asking("c", pb::Shared));
  ASSERT_FALSE(shared.has_value());
  EXPECT_EQ(shared.error(), wire::server_error(pb::ProducerBusy));
}

TEST(producer_access, an_exclusive_producer_is_refused_while_shared_ones_publish) {
  producer_access access;
  ASSERT_TRUE(access.admit(asking("a", pb::Shared)).has_value());
  EXPECT_EQ(access.admit(asking("b", pb::Exclusive)).error(),
            wire::server_error(pb::ProducerFenced));
  access.release("a");
  EXPECT_TRUE(access.admit(asking("b", pb::Exclusive)).has_value()) << "the topic is free now";
}

TEST(producer_access, fencing_closes_everyone_else_and_raises_the_epoch) {
  producer_access access;
  auto old = access.admit(asking("a", pb::Exclusive));
  ASSERT_TRUE(old.has_value());
  auto fencing = access.admit(asking("b", pb::ExclusiveWithFencing));
  ASSERT_TRUE(fencing.has_value());
  EXPECT_EQ(fencing->fenced, std::vector<std::string>{"a"});
  EXPECT_GT(*fencing->topic_epoch, *old->topic_epoch);
  EXPECT_EQ(access.exclusive_holder(), "b");
  // The fenced producer reconnects with its old epoch: refused, it cannot interleave with b.
  access.release("b");
  auto back = access.admit(asking("a", pb::Exclusive, old->topic_epoch));
  ASSERT_FALSE(back.has_value());
  EXPECT_EQ(back.error(), wire::server_error(pb::ProducerFenced));
}

TEST(producer_access, a_reconnecting_holder_keeps_its_epoch) {
  producer_access access;
  auto granted = access.admit(asking("a", pb::Exclusive));
  ASSERT_TRUE(granted.has_value());
  access.release("a");  // its connection dropped
  auto again = access.admit(asking("a", pb::Exclusive, granted->topic_epoch));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->topic_epoch, granted->topic_epoch);
}

TEST(producer_access, waiting_producers_get_the_topic_in_arrival_order) {
  producer_access access;
  ASSERT_TRUE(access.admit(asking("a", pb::Exclusive)).has_value());
  auto b = access.admit(asking("b", pb::WaitForExclusive));
  auto c = access.admit(asking("c", pb::WaitForExclusive));
  ASSERT_TRUE(b.has_value() && c.has_value());
  EXPECT_FALSE(b->ready);
  EXPECT_FALSE(c->ready);
  EXPECT_EQ(access.admit(asking("d", pb::Shared)).error(), wire::server_error(pb::ProducerBusy))
      << "nobody slips in ahead of the queue";
  auto next = access.release("a");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->name, "b");
  EXPECT_FALSE(access.release("c").has_value()) << "c gave up waiting; b still holds it";
  EXPECT_FALSE(access.release("b").has_value()) << "nobody left waiting";
  EXPECT_TRUE(access.admit(asking("d", pb::Shared)).has_value());
}

}  // namespace
}  // namespace shfn::broker
