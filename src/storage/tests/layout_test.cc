// Where the broker's files live: every Pulsar name is one safe path component that reads back
// as itself, and a name the encoder cannot have written (a stray file) is recognised as such.

#include "storage/layout.h"

#include <gtest/gtest.h>

namespace shfn::storage {
namespace {

TEST(layout, names_round_trip_as_one_safe_component) {
  for (const std::string name :
       {"orders", "a b/c", "..", ".partitions", "é-ünïcode", "50%", "x.cursor", "a%2Fb", ""}) {
    const std::string encoded = encode_path_component(name);
    EXPECT_EQ(encoded.find('/'), std::string::npos) << name;
    EXPECT_EQ(encoded.find('.'), std::string::npos) << name;
    EXPECT_EQ(decode_path_component(encoded), name);
  }
}

TEST(layout, a_name_the_encoder_cannot_have_written_does_not_decode) {
  for (const std::string stray : {"50%", "%4", "%zz", "%4g", "%2f"}) {
    EXPECT_EQ(decode_path_component(stray), std::nullopt) << stray;
  }
}

TEST(layout, a_topic_its_partitions_and_its_cursors) {
  const std::filesystem::path data = "/data";
  auto t = wire::parse_topic_name("persistent://public/ns/orders.v1");
  ASSERT_TRUE(t);
  EXPECT_EQ(topic_dir(data, *t), "/data/topics/persistent/public/ns/orders%2Ev1");
  EXPECT_EQ(partitions_file(data, *t), "/data/topics/persistent/public/ns/orders%2Ev1.partitions");
  EXPECT_EQ(topic_dir(data, t->partition_of(3)),
            "/data/topics/persistent/public/ns/orders%2Ev1-partition-3");
  EXPECT_EQ(cursor_path(topic_dir(data, *t), "sub/1"),
            topic_dir(data, *t) / "cursors" / "sub%2F1.cursor");
  EXPECT_EQ(cursor_path(topic_dir(data, *t), "r", true),
            topic_dir(data, *t) / "readers" / "r.cursor");
  auto np = wire::parse_topic_name("non-persistent://public/default/x");
  ASSERT_TRUE(np);
  EXPECT_EQ(topic_dir(data, *np), "/data/topics/non-persistent/public/default/x");
}

}  // namespace
}  // namespace shfn::storage
