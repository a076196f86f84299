#include "event/filter.h"

#include <gtest/gtest.h>

#include "event/tests/test_util.h"

namespace shfn::event {
namespace {

using json = nlohmann::json;
using testing::full_event;

filter parsed(std::string_view text) {
  auto f = parse_filter(json::parse(text));
  EXPECT_TRUE(f) << f.error().to_string();
  return f ? *f : filter{};
}

bool matches_json(std::string_view text, const cloud_event& e = full_event()) {
  return matches(parsed(text), e);
}

std::string parse_error(std::string_view text) {
  auto f = parse_filter(json::parse(text));
  return f ? "<parsed>" : f.error().to_string();
}

TEST(Filter, ExactPrefixSuffix) {
  EXPECT_TRUE(matches_json(R"({"exact": {"type": "com.example.someevent"}})"));
  EXPECT_FALSE(matches_json(R"({"exact": {"type": "com.example.SomeEvent"}})"));  // case matters
  EXPECT_TRUE(
      matches_json(R"({"exact": {"type": "com.example.someevent", "subject": "mynewfile.jpg"}})"));
  EXPECT_FALSE(matches_json(R"({"exact": {"type": "com.example.someevent", "subject": "other"}})"));
  EXPECT_TRUE(matches_json(R"({"prefix": {"type": "com.example."}})"));
  EXPECT_FALSE(matches_json(R"({"prefix": {"type": "org."}})"));
  EXPECT_TRUE(matches_json(R"({"suffix": {"subject": ".jpg"}})"));
  EXPECT_FALSE(matches_json(R"({"suffix": {"subject": ".png"}})"));
  // Extensions are attributes too; a missing attribute fails.
  EXPECT_TRUE(matches_json(R"({"exact": {"partitionkey": "customer-7"}})"));
  EXPECT_FALSE(matches_json(R"({"exact": {"missing": "x"}})"));
  EXPECT_FALSE(matches_json(R"({"prefix": {"missing": "x"}})"));
  EXPECT_FALSE(matches_json(R"({"suffix": {"missing": "x"}})"));
  EXPECT_TRUE(matches_json(R"({"exact": {"specversion": "1.0", "id": "1234-1234-1234"}})"));
  EXPECT_TRUE(matches_json(R"({"exact": {"time": "2018-04-05T17:31:00Z"}})"));
}

TEST(Filter, AllAnyNot) {
  EXPECT_TRUE(
      matches_json(R"({"all": [{"prefix": {"type": "com."}}, {"suffix": {"subject": ".jpg"}}]})"));
  EXPECT_FALSE(
      matches_json(R"({"all": [{"prefix": {"type": "com."}}, {"suffix": {"subject": ".png"}}]})"));
  EXPECT_TRUE(
      matches_json(R"({"any": [{"exact": {"type": "x"}}, {"suffix": {"subject": ".jpg"}}]})"));
  EXPECT_FALSE(matches_json(R"({"any": [{"exact": {"type": "x"}}, {"exact": {"type": "y"}}]})"));
  EXPECT_FALSE(matches_json(R"({"not": {"exact": {"type": "com.example.someevent"}}})"));
  EXPECT_TRUE(matches_json(R"({"not": {"exact": {"type": "x"}}})"));
  EXPECT_TRUE(matches_json(R"({"not": {"not": {"prefix": {"source": "/mycontext"}}}})"));
  EXPECT_TRUE(matches_json(
      R"({"all": [{"any": [{"exact": {"type": "x"}}, {"prefix": {"type": "com"}}]}, {"not": {"exact": {"subject": "x"}}}]})"));
}

TEST(Filter, EmptyFiltersAreNeutralAsInKnative) {
  EXPECT_TRUE(matches_json("{}"));
  EXPECT_TRUE(matches_json(R"({"all": []})"));
  EXPECT_TRUE(matches_json(R"({"any": []})"));
  EXPECT_TRUE(matches_json(R"({"not": {}})"));  // "no filter" negated is still "no filter"
  EXPECT_FALSE(matches_json(R"({"any": [{}, {"exact": {"type": "x"}}]})"));
  EXPECT_FALSE(matches_json(R"({"all": [{}, {"exact": {"type": "x"}}]})"));
}

TEST(Filter, ListOfFiltersAllMustMatch) {
  auto f =
      parse_filters(json::parse(R"([{"prefix": {"type": "com."}}, {"exact": {"subject": "x"}}])"));
  ASSERT_TRUE(f);
  EXPECT_FALSE(matches(*f, full_event()));
  f = parse_filters(json::parse(R"([{"prefix": {"type": "com."}}])"));
  ASSERT_TRUE(f);
  EXPECT_TRUE(matches(*f, full_event()));
  auto bad = parse_filters(json::parse(R"([{"prefix": {"type": "com."}}, {"exact": 3}])"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "[1].exact");
}

TEST(Filter, ErrorsCarryTheFieldPath) {
  EXPECT_EQ(parse_error(R"({"all": [{"exact": {"type": "x"}}, {"exact": ["type"]}]})"),
            "all[1].exact: expected a mapping of attribute to string, got a list");
  EXPECT_EQ(parse_error(R"({"exact": {}})"),
            "exact: expected a mapping of attribute to string, got an empty mapping");
  EXPECT_EQ(parse_error(R"({"exact": {"type": 3}})"),
            "exact.type: expected a string, got a number");
  EXPECT_EQ(parse_error(R"({"prefix": {"type": ""}})"), "prefix.type: value must not be empty");
  EXPECT_EQ(parse_error(R"({"suffix": {"Type": "x"}})"),
            "suffix.Type: invalid attribute name \"Type\": it must start with a letter and contain "
            "only lower-case letters and digits");
  EXPECT_EQ(parse_error(R"({"exact": {"1abc": "x"}})"),
            "exact.1abc: invalid attribute name \"1abc\": it must start with a letter and contain "
            "only lower-case letters and digits");
  EXPECT_EQ(parse_error(R"({"exact": {"type": "x"}, "prefix": {"type": "y"}})"),
            "multiple dialects found: a filter has exactly one of exact, prefix, suffix, all, any, "
            "not");
  EXPECT_EQ(
      parse_error(R"({"any": [{"exactt": {"type": "x"}}]})"),
      "any[0].exactt: unknown filter dialect \"exactt\" (expected exact, prefix, suffix, all, "
      "any or not)");
  EXPECT_EQ(parse_error(R"({"sql": "type = 'x'"})"),
            "sql: the CESQL dialect is not supported; use exact, prefix, suffix, all, any, not");
  EXPECT_EQ(parse_error(R"({"all": {"exact": {"type": "x"}}})"),
            "all: expected a list of filters, got a mapping");
  EXPECT_EQ(parse_error(R"({"not": [{"exact": {"type": "x"}}]})"),
            "not: expected a filter mapping, got a list");
  EXPECT_EQ(parse_error(R"({"any": ["x"]})"), "any[0]: expected a filter mapping, got a string");
  EXPECT_EQ(parse_error("\"exact\""), "expected a filter mapping, got a string");
  auto f = parse_filter(json::parse(R"({"not": {"exact": {"type": 1}}})"));
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().field, "not.exact.type");
  EXPECT_EQ(f.error().message, "expected a string, got a number");
  EXPECT_EQ(f.error().code, errc::invalid_filter);
}

TEST(Filter, DepthIsBounded) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += R"({"not": )";
  deep += "{}";
  for (int i = 0; i < 40; ++i) deep += "}";
  auto f = parse_filter(json::parse(deep));
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "filters nested deeper than 32 levels");
}

}  // namespace
}  // namespace shfn::event
