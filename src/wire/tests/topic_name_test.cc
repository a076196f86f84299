#include "wire/topic_name.h"

#include <gtest/gtest.h>

namespace shfn::wire {
namespace {

TEST(topic_name, short_names_expand_to_public_default) {
  auto t = parse_topic_name("foo");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->str(), "persistent://public/default/foo");
}

TEST(topic_name, three_part_and_full_names) {
  EXPECT_EQ(parse_topic_name("acme/ns/t")->str(), "persistent://acme/ns/t");
  auto np = parse_topic_name("non-persistent://acme/ns/t");
  ASSERT_TRUE(np.has_value());
  EXPECT_FALSE(np->persistent);
  EXPECT_EQ(np->str(), "non-persistent://acme/ns/t");
}

TEST(topic_name, partition_suffix_is_recognised) {
  auto t = parse_topic_name("persistent://public/default/t-partition-3");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->partition, 3);
  EXPECT_EQ(t->base(), "persistent://public/default/t");
  EXPECT_EQ(t->partition_of(1).str(), "persistent://public/default/t-partition-1");
}

TEST(topic_name, invalid_names_are_refused) {
  for (const char* bad : {"", "a/b", "ftp://a/b/c", "persistent://a/b", "a b", "persistent://a/b/",
                          "persistent:///b/c", "tenant!/ns/t"}) {
    EXPECT_FALSE(parse_topic_name(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace shfn::wire
