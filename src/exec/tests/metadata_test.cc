#include <gtest/gtest.h>

#include "exec/command.h"

namespace shfn::exec {
namespace {

using pairs = std::vector<std::pair<std::string, std::string>>;

TEST(metadata, key_properties_and_event_attributes) {
  const auto m = parse_metadata(
      "key=order-42\n"
      "property.region=eu-west\n"
      "property.trace=a=b=c\n"
      "ce.type=com.example.order\n"
      "ce.subject=\n");
  ASSERT_TRUE(m.key);
  EXPECT_EQ(*m.key, "order-42");
  EXPECT_EQ(m.properties, (pairs{{"region", "eu-west"}, {"trace", "a=b=c"}}));
  EXPECT_EQ(m.attributes, (pairs{{"type", "com.example.order"}, {"subject", ""}}));
  EXPECT_TRUE(m.warnings.empty());
}

TEST(metadata, blank_lines_comments_and_a_missing_final_newline) {
  const auto m = parse_metadata("# written by the script\n\n   \n\tkey is not here\nkey=k");
  ASSERT_TRUE(m.key);
  EXPECT_EQ(*m.key, "k");
  ASSERT_EQ(m.warnings.size(), 1u);
  EXPECT_NE(m.warnings[0].find("line 4"), std::string::npos) << m.warnings[0];
}

TEST(metadata, empty_text_sets_nothing) {
  const auto m = parse_metadata("");
  EXPECT_FALSE(m.key);
  EXPECT_TRUE(m.properties.empty());
  EXPECT_TRUE(m.attributes.empty());
  EXPECT_TRUE(m.warnings.empty());
}

TEST(metadata, the_last_value_of_a_name_wins) {
  const auto m = parse_metadata("key=a\nkey=b\nproperty.x=1\nproperty.x=2\nce.id=1\nce.id=2\n");
  EXPECT_EQ(*m.key, "b");
  EXPECT_EQ(m.properties, (pairs{{"x", "2"}}));
  EXPECT_EQ(m.attributes, (pairs{{"id", "2"}}));
}

TEST(metadata, values_are_kept_byte_for_byte_but_crlf_line_ends_are_dropped) {
  const auto m = parse_metadata("key= spaced \r\nproperty.bin=\xff\xfe\n");
  EXPECT_EQ(*m.key, " spaced ");
  EXPECT_EQ(m.properties, (pairs{{"bin", "\xff\xfe"}}));
}

TEST(metadata, unparseable_lines_become_warnings_naming_the_line) {
  const auto m = parse_metadata(
      "hello\n"             // no '='
      "colour=red\n"        // unknown name
      "property.=x\n"       // empty property name
      "ce.=x\n"             // empty attribute name
      "ce.Type=x\n"         // not lower-case
      "ce.data-schema=x\n"  // not alphanumeric
      "key=fine\n");
  EXPECT_EQ(*m.key, "fine");
  EXPECT_TRUE(m.properties.empty());
  EXPECT_TRUE(m.attributes.empty());
  ASSERT_EQ(m.warnings.size(), 6u);
  EXPECT_NE(m.warnings[0].find("line 1"), std::string::npos);
  EXPECT_NE(m.warnings[0].find("'hello'"), std::string::npos);
  EXPECT_NE(m.warnings[1].find("colour=red"), std::string::npos);
  EXPECT_NE(m.warnings[4].find("lower-case"), std::string::npos);
}

TEST(metadata, a_long_bad_line_is_quoted_shortened) {
  const auto m = parse_metadata(std::string(10000, 'z'));
  ASSERT_EQ(m.warnings.size(), 1u);
  EXPECT_LT(m.warnings[0].size(), 200u);
}

}  // namespace
}  // namespace shfn::exec
