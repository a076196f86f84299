#include "wire/crc32c.h"

#include <gtest/gtest.h>

namespace shfn::wire {
namespace {

TEST(crc32c, matches_the_standard_check_value) {
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(as_bytes("")), 0u);
}

TEST(crc32c, can_be_computed_piecewise) {
  std::uint32_t partial = crc32c(as_bytes("12345"));
  EXPECT_EQ(crc32c(as_bytes("6789"), partial), 0xE3069283u);
}

}  // namespace
}  // namespace shfn::wire
