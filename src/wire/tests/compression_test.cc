#include "wire/compression.h"

#include <gtest/gtest.h>

#include <random>

#include "wire/errc.h"

namespace shfn::wire {
namespace {

bytes sample() {
  bytes data;
  std::mt19937 rng(1);  // NOLINT(bugprone-random-generator-seed): reproducible
  for (int i = 0; i < 20000; ++i)
    data.push_back(static_cast<std::uint8_t>(i % 7 == 0 ? rng() : 'a'));
  return data;
}

class codecs : public ::testing::TestWithParam<pb::CompressionType> {};

TEST_P(codecs, round_trip_is_byte_exact) {
  bytes data = sample();
  auto packed = compress(GetParam(), data);
  ASSERT_TRUE(packed.has_value());
  if (GetParam() != pb::NONE) {
    EXPECT_LT(packed->size(), data.size());
  }
  auto unpacked = decompress(GetParam(), *packed, data.size());
  ASSERT_TRUE(unpacked.has_value());
  EXPECT_EQ(*unpacked, data);
}

TEST_P(codecs, empty_input_round_trips) {
  auto packed = compress(GetParam(), {});
  ASSERT_TRUE(packed.has_value());
  auto unpacked = decompress(GetParam(), *packed, 0);
  ASSERT_TRUE(unpacked.has_value());
  EXPECT_TRUE(unpacked->empty());
}

TEST_P(codecs, garbage_and_wrong_sizes_are_errors) {
  if (GetParam() == pb::NONE) GTEST_SKIP() << "no framing to corrupt";
  bytes data = sample();
  auto packed = compress(GetParam(), data);
  ASSERT_TRUE(packed.has_value());
  EXPECT_FALSE(decompress(GetParam(), *packed, data.size() + 1).has_value());
  bytes garbage(100, 0xff);
  EXPECT_FALSE(decompress(GetParam(), garbage, 5000).has_value());
  bytes truncated(packed->begin(), packed->begin() + static_cast<long>(packed->size() / 2));
  EXPECT_FALSE(decompress(GetParam(), truncated, data.size()).has_value());
}

INSTANTIATE_TEST_SUITE_P(all, codecs,
                         ::testing::Values(pb::NONE, pb::LZ4, pb::ZLIB, pb::ZSTD, pb::SNAPPY));

TEST(compression, declared_size_over_the_limit_is_refused) {
  auto r = decompress(pb::LZ4, as_bytes("x"), 1u << 30, 1u << 20);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::decompressed_too_large);
}

TEST(compression, names_map_to_types) {
  EXPECT_EQ(compression_from_name("zstd"), pb::ZSTD);
  EXPECT_EQ(compression_from_name("brotli"), std::nullopt);
}

}  // namespace
}  // namespace shfn::wire
