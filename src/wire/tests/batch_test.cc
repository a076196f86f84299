#include "wire/batch.h"

#include <gtest/gtest.h>

#include "wire/errc.h"

namespace shfn::wire {
namespace {

bytes two_message_batch() {
  bytes out;
  pb::SingleMessageMetadata a;
  a.set_payload_size(3);
  a.set_partition_key("k1");
  append_to_batch(out, a, as_bytes("one"));
  pb::SingleMessageMetadata b;
  b.set_payload_size(0);
  auto* p = b.add_properties();
  p->set_key("x");
  p->set_value("y");
  append_to_batch(out, b, {});
  return out;
}

TEST(batch, round_trip_keeps_metadata_and_payloads) {
  bytes data = two_message_batch();
  auto entries = decode_batch(data, 2);
  ASSERT_TRUE(entries.has_value());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ(as_chars((*entries)[0].payload), "one");
  EXPECT_EQ((*entries)[0].metadata.partition_key(), "k1");
  EXPECT_TRUE((*entries)[1].payload.empty());
  EXPECT_EQ((*entries)[1].metadata.properties(0).value(), "y");
}

TEST(batch, count_larger_than_contents_is_an_error) {
  bytes data = two_message_batch();
  auto r = decode_batch(data, 3);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::truncated_batch);
  EXPECT_FALSE(decode_batch(data, 1'000'000'000).has_value());
}

TEST(batch, count_smaller_than_contents_is_an_error) {
  bytes data = two_message_batch();
  auto r = decode_batch(data, 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::batch_trailing_bytes);
}

TEST(batch, payload_size_past_the_end_is_an_error) {
  bytes out;
  pb::SingleMessageMetadata m;
  m.set_payload_size(1000);
  append_to_batch(out, m, as_bytes("short"));
  EXPECT_FALSE(decode_batch(out, 1).has_value());
}

TEST(batch, every_truncation_is_an_error) {
  bytes data = two_message_batch();
  for (std::size_t n = 0; n < data.size(); ++n) {
    EXPECT_FALSE(decode_batch(byte_view(data).first(n), 2).has_value()) << n;
  }
}

}  // namespace
}  // namespace shfn::wire
