// The generic field-reading layer on its own: typed reads, suggestions, unknown and duplicate
// keys, and the bound on what aliases can expand to.

#include "config/reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace shfn::config {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> strings(diagnostics& d) {
  std::vector<std::string> out;
  for (const auto& e : d.take()) out.push_back(e.to_string());
  return out;
}

// The value of "v" in a one-line document "v: TEXT".
field value_of(diagnostics& d, const std::string& text) {
  const YAML::Node root = YAML::Load("v: " + text);
  mapping m(field(d, root, root.Mark(), "x"), {"v"});
  return m.get("v").value_or(field(d, YAML::Node(), root.Mark(), "x.v"));
}

TEST(reader_test, suggestions_are_close_and_case_insensitive) {
  const std::vector<std::string_view> known = {"output", "inputs", "input", "timeoutMs", "env"};
  EXPECT_EQ(suggest("ouptut", known), "output");  // transposition counts as one
  EXPECT_EQ(suggest("OUTPUT", known), "output");
  EXPECT_EQ(suggest("inptus", known), "inputs");
  EXPECT_EQ(suggest("timeout", known), "timeoutMs");  // two insertions
  EXPECT_EQ(suggest("timeoutSeconds", known), "");
  EXPECT_EQ(suggest("e", known), "");  // no suggestion as long as the word
  EXPECT_EQ(did_you_mean("inpt", known), " (did you mean \"input\"?)");
  EXPECT_EQ(did_you_mean("zzz", known), "");
}

TEST(reader_test, integers_follow_the_yaml_core_schema) {
  diagnostics d("r.yaml");
  const auto max = std::numeric_limits<std::int64_t>::max();
  const auto min = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(value_of(d, "42").as_int(min, max), 42);
  EXPECT_EQ(value_of(d, "+42").as_int(min, max), 42);
  EXPECT_EQ(value_of(d, "-42").as_int(min, max), -42);
  EXPECT_EQ(value_of(d, "0x2A").as_int(min, max), 42);
  EXPECT_EQ(value_of(d, "0o52").as_int(min, max), 42);
  EXPECT_EQ(value_of(d, "!!int 42").as_int(min, max), 42);
  EXPECT_EQ(value_of(d, "-9223372036854775808").as_int(min, max), min);
  EXPECT_EQ(value_of(d, "9223372036854775807").as_int(min, max), max);
  EXPECT_THAT(strings(d), ElementsAre());

  EXPECT_EQ(value_of(d, "9223372036854775808").as_int(min, max), std::nullopt);
  EXPECT_EQ(value_of(d, "1_000").as_int(min, max), std::nullopt);
  EXPECT_EQ(value_of(d, "0x").as_int(min, max), std::nullopt);
  EXPECT_EQ(value_of(d, "'7'").as_int(min, max), std::nullopt);
  EXPECT_EQ(value_of(d, "5").as_int(10, max), std::nullopt);
  EXPECT_THAT(strings(d), ElementsAre("r.yaml:1:4: x.v: must be at least -9223372036854775808, "
                                      "got 9223372036854775808",
                                      "r.yaml:1:4: x.v: expected an integer, got \"1_000\"",
                                      "r.yaml:1:4: x.v: expected an integer, got \"0x\"",
                                      "r.yaml:1:4: x.v: expected an integer, got the string \"7\"",
                                      "r.yaml:1:4: x.v: must be at least 10, got 5"));
}

TEST(reader_test, descriptions_escape_and_shorten_values) {
  EXPECT_EQ(describe(YAML::Load("\"a\\tb\\\"c\"")), "the string \"a\\x09b\\\"c\"");
  EXPECT_EQ(describe(YAML::Load(std::string(100, 'x'))), "\"" + std::string(60, 'x') + "...\"");
  EXPECT_EQ(describe(YAML::Load("~")), "null");
  EXPECT_EQ(describe(YAML::Load("{}")), "a mapping");
  EXPECT_EQ(describe(YAML::Load("[]")), "a list");
}

TEST(reader_test, reading_an_undeclared_key_is_reported_not_ignored) {
  diagnostics d("r.yaml");
  const YAML::Node root = YAML::Load("a: 1");
  mapping m(field(d, root, root.Mark(), ""), {"a"});
  EXPECT_EQ(m.get("b"), std::nullopt);
  EXPECT_THAT(strings(d),
              ElementsAre("r.yaml:1:1: internal error: field \"b\" read but not declared"));
}

TEST(reader_test, alias_expansion_is_bounded) {
  // Each level doubles the previous one: 2^20 values after expansion, from a few lines.
  std::string yaml = "l0: &l0 [x, x]\n";
  for (int i = 1; i <= 20; ++i)
    yaml += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [*l" + std::to_string(i - 1) +
            ", *l" + std::to_string(i - 1) + "]\n";
  const YAML::Node root = YAML::Load(yaml);
  diagnostics d("r.yaml");
  field f(d, root, root.Mark(), "userConfig");
  EXPECT_EQ(f.as_json(), std::nullopt);
  EXPECT_THAT(strings(d), ElementsAre("r.yaml:1:1: userConfig: too large: more than 100000 values "
                                      "(after expanding aliases)"));
}

TEST(reader_test, small_aliases_are_expanded) {
  const YAML::Node root = YAML::Load("base: &b {retries: 2}\ncopy: *b\n");
  diagnostics d("r.yaml");
  field f(d, root, root.Mark(), "userConfig");
  auto json = f.as_json();
  ASSERT_TRUE(json);
  EXPECT_EQ((*json)["copy"], (nlohmann::json{{"retries", 2}}));
}

}  // namespace
}  // namespace shfn::config
