#include "storage/range_set.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace shfn::storage {
namespace {

using ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

ranges as_ranges(const range_set& s) {
  return ranges(s.begin(), s.end());
}

TEST(range_set, single_offsets_coalesce_into_ranges) {
  range_set s;
  s.insert(5);
  s.insert(7);
  EXPECT_EQ(as_ranges(s), (ranges{{5, 6}, {7, 8}}));
  s.insert(6);  // bridges both neighbours
  EXPECT_EQ(as_ranges(s), (ranges{{5, 8}}));
  s.insert(4);
  s.insert(8);
  EXPECT_EQ(as_ranges(s), (ranges{{4, 9}}));
  s.insert(6);  // already there
  EXPECT_EQ(as_ranges(s), (ranges{{4, 9}}));
  EXPECT_EQ(s.size(), 5u);
  EXPECT_EQ(s.range_count(), 1u);
}

TEST(range_set, a_range_swallows_every_range_it_overlaps_or_touches) {
  range_set s;
  s.insert(10, 12);
  s.insert(14, 16);
  s.insert(20, 22);
  s.insert(30, 31);
  s.insert(11, 20);  // overlaps the first, covers the second, touches the third
  EXPECT_EQ(as_ranges(s), (ranges{{10, 22}, {30, 31}}));
  s.insert(0, 100);
  EXPECT_EQ(as_ranges(s), (ranges{{0, 100}}));
  s.insert(50, 50);  // empty
  s.insert(60, 40);  // inverted
  EXPECT_EQ(as_ranges(s), (ranges{{0, 100}}));
}

TEST(range_set, contains_respects_half_open_bounds) {
  range_set s;
  s.insert(3, 6);
  EXPECT_FALSE(s.contains(2));
  EXPECT_TRUE(s.contains(3));
  EXPECT_TRUE(s.contains(5));
  EXPECT_FALSE(s.contains(6));
  EXPECT_FALSE(range_set().contains(0));
}

TEST(range_set, erase_below_cuts_a_straddling_range) {
  range_set s;
  s.insert(0, 3);
  s.insert(5, 10);
  s.insert(12, 13);
  s.erase_below(7);
  EXPECT_EQ(as_ranges(s), (ranges{{7, 10}, {12, 13}}));
  s.erase_below(10);
  EXPECT_EQ(as_ranges(s), (ranges{{12, 13}}));
  s.erase_below(100);
  EXPECT_TRUE(s.empty());
}

TEST(range_set, first_gap_at_or_after) {
  range_set s;
  s.insert(2, 5);
  s.insert(8, 9);
  EXPECT_EQ(s.first_gap_at_or_after(0), 0u);
  EXPECT_EQ(s.first_gap_at_or_after(2), 5u);
  EXPECT_EQ(s.first_gap_at_or_after(4), 5u);
  EXPECT_EQ(s.first_gap_at_or_after(5), 5u);
  EXPECT_EQ(s.first_gap_at_or_after(8), 9u);
  EXPECT_EQ(s.first_gap_at_or_after(100), 100u);
}

TEST(range_set, equality_compares_the_offsets) {
  range_set a, b;
  a.insert(1, 3);
  b.insert(2);
  b.insert(1);
  EXPECT_EQ(a, b);
  b.insert(7);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace shfn::storage
