// The consumer's protocol state without a socket: which messages of a batched entry are
// delivered when it arrives and arrives again, when the entry is acked, and when permits go
// back to the broker. Scripted as the broker would send: first deliveries, redeliveries after a
// negative ack or a reconnect (with the broker's ack set), compacted-out messages.

#include "client/batch_tracker.h"

#include <gtest/gtest.h>

#include <set>

namespace shfn::client {
namespace {

const batch_tracker::entry_key entry{7, 3};

// The broker's view of the entry's messages: those in `gone` are acked or compacted out.
std::function<bool(int)> except(std::set<int> gone) {
  return [gone = std::move(gone)](int i) { return gone.contains(i); };
}

TEST(batch_tracker, a_batch_is_delivered_whole_and_acked_with_its_last_message) {
  batch_tracker t;
  const auto first = t.arrived(entry, 3, except({}));
  EXPECT_EQ(first.deliver, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(first.skipped, 0);
  EXPECT_FALSE(first.ack_entry);
  EXPECT_FALSE(t.acknowledge(entry, 2));
  EXPECT_FALSE(t.acknowledge(entry, 2)) << "twice is once";
  EXPECT_FALSE(t.acknowledge(entry, 0));
  EXPECT_TRUE(t.acknowledge(entry, 1)) << "the last message acks the entry";
  EXPECT_EQ(t.entries(), 0u);
  EXPECT_FALSE(t.acknowledge(entry, 1)) << "an entry acked whole is not acked again";
}

TEST(batch_tracker, a_redelivered_entry_brings_back_only_the_messages_given_back) {
  batch_tracker t;
  (void)t.arrived(entry, 4, except({}));
  EXPECT_FALSE(t.acknowledge(entry, 0));  // processed
  t.make_available(entry, 1);             // negatively acked
  // 2 and 3 are still with the application. The broker redelivers the whole entry.
  const auto again = t.arrived(entry, 4, except({}));
  EXPECT_EQ(again.deliver, (std::vector<int>{1}));
  EXPECT_EQ(again.skipped, 3) << "their permits go back";
  EXPECT_FALSE(again.ack_entry);
  EXPECT_FALSE(t.acknowledge(entry, 1));
  EXPECT_FALSE(t.acknowledge(entry, 2));
  EXPECT_TRUE(t.acknowledge(entry, 3));
}

TEST(batch_tracker, an_acked_message_is_never_made_available_again) {
  batch_tracker t;
  (void)t.arrived(entry, 2, except({}));
  EXPECT_FALSE(t.acknowledge(entry, 0));
  t.make_available(entry, 0);  // e.g. the local queue was dropped on a reconnect
  t.make_available(entry, 1);
  EXPECT_EQ(t.arrived(entry, 2, except({})).deliver, (std::vector<int>{1}));
}

TEST(batch_tracker, after_a_reconnect_the_brokers_ack_set_is_taken_into_account) {
  batch_tracker t;
  (void)t.arrived(entry, 3, except({}));
  EXPECT_FALSE(t.acknowledge(entry, 2));  // its ack went out; the entry's never did
  t.make_available(entry, 0);
  t.make_available(entry, 1);
  // The broker has 0 and 1 as acked (another consumer of a Shared subscription, say).
  const auto again = t.arrived(entry, 3, except({0, 1}));
  EXPECT_TRUE(again.deliver.empty());
  EXPECT_EQ(again.skipped, 3);
  EXPECT_TRUE(again.ack_entry) << "every message is acked: the entry must be, now";
  EXPECT_EQ(t.entries(), 0u);
}

TEST(batch_tracker, compacted_out_messages_are_not_delivered_and_count_as_acked) {
  batch_tracker t;
  const auto first = t.arrived(entry, 3, except({1}));
  EXPECT_EQ(first.deliver, (std::vector<int>{0, 2}));
  EXPECT_EQ(first.skipped, 1);
  EXPECT_FALSE(t.acknowledge(entry, 0));
  EXPECT_TRUE(t.acknowledge(entry, 2));
}

TEST(batch_tracker, a_cumulative_ack_forgets_every_entry_up_to_it) {
  batch_tracker t;
  for (std::int64_t e = 1; e <= 4; ++e) (void)t.arrived({7, e}, 2, except({}));
  (void)t.arrived({8, 0}, 2, except({}));
  t.forget_through({7, 3});
  EXPECT_EQ(t.entries(), 2u);
  EXPECT_FALSE(t.acknowledge({7, 2}, 0)) << "forgotten: acked whole";
  EXPECT_FALSE(t.acknowledge({7, 4}, 0));
  EXPECT_TRUE(t.acknowledge({7, 4}, 1));
}

TEST(permit_window, permits_go_back_once_half_the_queue_is_taken) {
  permit_window w(10);
  w.granted(10);
  for (int i = 0; i < 10; ++i) w.entry_arrived(1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(w.consumed(1), 0);
  EXPECT_EQ(w.consumed(1), 5);
  w.granted(5);
  EXPECT_EQ(w.broker_permits(), 5);
}

TEST(permit_window, after_a_large_entry_the_first_message_taken_lets_the_broker_send_again) {
  permit_window w(10);
  w.granted(10);
  w.entry_arrived(10);  // one batch took every permit
  EXPECT_EQ(w.consumed(1), 1) << "the next entry travels while this one is worked through";
  w.granted(1);
  EXPECT_EQ(w.consumed(1), 0) << "one early FLOW per entry";
  EXPECT_EQ(w.consumed(3), 0);
  EXPECT_EQ(w.consumed(1), 5);
}

TEST(permit_window, a_resubscribe_starts_from_no_permits) {
  permit_window w(10);
  w.granted(10);
  w.entry_arrived(3);
  EXPECT_EQ(w.consumed(2), 0);
  w.reset();
  EXPECT_EQ(w.broker_permits(), 0);
  w.granted(10);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(w.consumed(1), 0) << "the 2 taken before do not count";
  EXPECT_EQ(w.consumed(1), 5);
}

}  // namespace
}  // namespace shfn::client
