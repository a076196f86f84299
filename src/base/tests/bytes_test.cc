#include "base/bytes.h"

#include <gtest/gtest.h>

namespace shfn {
namespace {

TEST(bytes, big_endian_round_trip) {
  bytes out;
  put_u32(out, 0x01020304);
  put_u16(out, 0x0e01);
  EXPECT_EQ(out, (bytes{1, 2, 3, 4, 0x0e, 0x01}));
  byte_reader r(out);
  std::uint32_t v32 = 0;
  std::uint16_t v16 = 0;
  ASSERT_TRUE(r.read_u32(v32));
  ASSERT_TRUE(r.read_u16(v16));
  EXPECT_EQ(v32, 0x01020304u);
  EXPECT_EQ(v16, 0x0e01);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(bytes, reader_refuses_to_read_past_the_end) {
  bytes three{1, 2, 3};
  byte_reader r(three);
  std::uint32_t v = 0;
  EXPECT_FALSE(r.read_u32(v));
  EXPECT_EQ(r.position(), 0u);
  byte_view span;
  EXPECT_FALSE(r.read_span(4, span));
  EXPECT_TRUE(r.read_span(3, span));
}

}  // namespace
}  // namespace shfn
