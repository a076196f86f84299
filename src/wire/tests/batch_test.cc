#include "wire/batch.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

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

std::string random_text(std::mt19937& rng) {
  std::string s(rng() % 12, '\0');
  for (auto& c : s) c = static_cast<char>(rng() % 256);
  return s;
}

// Any mix of the fields, required ones sometimes missing, values at their extremes.
pb::SingleMessageMetadata random_metadata(std::mt19937& rng) {
  pb::SingleMessageMetadata m;
  auto maybe = [&] { return rng() % 3 == 0; };
  const int properties = static_cast<int>(rng() % 4);
  for (int i = 0; i < properties; ++i) {
    auto* p = m.add_properties();
    if (rng() % 10 != 0) p->set_key(random_text(rng));
    if (rng() % 10 != 0) p->set_value(random_text(rng));
  }
  if (maybe()) m.set_partition_key(random_text(rng));
  if (rng() % 10 != 0) {
    const std::int32_t sizes[] = {0, 1, 100, -1, INT32_MAX, INT32_MIN};
    m.set_payload_size(rng() % 2 ? sizes[rng() % 6] : static_cast<std::int32_t>(rng()));
  }
  if (maybe()) m.set_compacted_out(rng() % 2);
  if (maybe()) m.set_event_time((std::uint64_t{rng()} << 32) | rng());
  if (maybe()) m.set_partition_key_b64_encoded(rng() % 2);
  if (maybe()) m.set_ordering_key(random_text(rng));
  if (maybe()) m.set_sequence_id(rng() % 2 ? UINT64_MAX : rng());
  if (maybe()) m.set_null_value(rng() % 2);
  if (maybe()) m.set_null_partition_key(rng() % 2);
  return m;
}

void mutate(std::string& wire, std::mt19937& rng) {
  switch (rng() % 6) {
    case 0:  // a byte changed
      if (!wire.empty()) wire[rng() % wire.size()] = static_cast<char>(rng() % 256);
      break;
    case 1:  // cut short
      wire.resize(wire.empty() ? 0 : rng() % wire.size());
      break;
    case 2:  // junk after it
      wire += random_text(rng);
      break;
    case 3:  // an unknown field (number 15, varint)
      wire.insert(rng() % 2 ? 0 : wire.size(), std::string("\x78\x05", 2));
      break;
    case 4:  // a known field with the wrong wire type (payload_size as length-delimited)
      wire += std::string("\x1a\x01x", 3);
      break;
    case 5:  // twice: protobuf merges (repeated fields append, the last scalar wins)
      wire += wire;
      break;
  }
}

// The hand-written parser must agree with protobuf's on every input, including into an object
// that held another message before.
TEST(batch, fast_metadata_parser_agrees_with_protobuf) {
  std::mt19937 rng(20261121);  // NOLINT(bugprone-random-generator-seed): reproducible
  pb::SingleMessageMetadata fast;
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string original = random_metadata(rng).SerializePartialAsString();
    for (int variant = 0; variant < 10; ++variant) {
      std::string wire = original;
      for (int i = 0; i < variant % 3; ++i) mutate(wire, rng);
      pb::SingleMessageMetadata reference;
      const bool expected = reference.ParseFromString(wire);
      ASSERT_EQ(parse_single_message_metadata(as_bytes(wire), fast), expected)
          << round << "/" << variant;
      if (!expected) continue;
      ++accepted;
      ASSERT_EQ(fast.SerializeAsString(), reference.SerializeAsString()) << round << "/" << variant;
    }
  }
  EXPECT_GT(accepted, 5000);  // most inputs are valid: the comparison is not vacuous
}

}  // namespace
}  // namespace shfn::wire
