#include "k8s/quantity.h"

#include <gtest/gtest.h>

namespace shfn::k8s {
namespace {

TEST(quantity, values_in_base_units) {
  EXPECT_DOUBLE_EQ(*quantity_value("100m"), 0.1);
  EXPECT_DOUBLE_EQ(*quantity_value("1"), 1);
  EXPECT_DOUBLE_EQ(*quantity_value("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(*quantity_value(".5"), 0.5);
  EXPECT_DOUBLE_EQ(*quantity_value("64Mi"), 64.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(*quantity_value("1Gi"), 1024.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(*quantity_value("1G"), 1e9);
  EXPECT_DOUBLE_EQ(*quantity_value("2e3"), 2000);
  EXPECT_DOUBLE_EQ(*quantity_value("1E"), 1e18);  // exa, not an exponent
  EXPECT_DOUBLE_EQ(*quantity_value("5E-1"), 0.5);
  EXPECT_DOUBLE_EQ(*quantity_value("+2k"), 2000);
}

TEST(quantity, ordering_across_suffixes) {
  EXPECT_GT(*quantity_value("1Gi"), *quantity_value("512Mi"));
  EXPECT_GT(*quantity_value("1Gi"), *quantity_value("1G"));
  EXPECT_LT(*quantity_value("999m"), *quantity_value("1"));
}

TEST(quantity, not_quantities) {
  for (auto q : {"", "m", "1x", "1.5.5", "Mi", "1 Mi", "1mi", "1e", "1e+", "--1"})
    EXPECT_FALSE(quantity_value(q).has_value()) << q;
}

}  // namespace
}  // namespace shfn::k8s
