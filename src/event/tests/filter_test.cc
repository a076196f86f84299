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
            "all[1].exact: expected a mapping, got a list");
  EXPECT_EQ(parse_error(R"({"exact": {}})"), "exact: must name at least one attribute");
  EXPECT_EQ(parse_error(R"({"exact": {"type": 3}})"),
            "exact.type: expected a string, got a number");
  EXPECT_EQ(parse_error(R"({"prefix": {"type": ""}})"), "prefix.type: must not be empty");
  EXPECT_EQ(parse_error(R"({"suffix": {"Type": "x"}})"),
            "suffix.Type: invalid attribute name \"Type\": expected lower-case letters and "
            "digits, starting with a letter");
  EXPECT_EQ(parse_error(R"({"exact": {"1abc": "x"}})"),
            "exact.1abc: invalid attribute name \"1abc\": expected lower-case letters and "
            "digits, starting with a letter");
  EXPECT_EQ(parse_error(R"({"exact": {"type": "x"}, "prefix": {"type": "y"}})"),
            "prefix: a filter has one dialect, not both exact and prefix: combine filters with "
            "all: [...]");
  EXPECT_EQ(parse_error(R"({"any": [{"exactt": {"type": "x"}}]})"), "any[0].exactt: unknown field");
  EXPECT_EQ(parse_error(R"({"sql": "type = 'x'"})"), "sql: unknown field");
  EXPECT_EQ(parse_error(R"({"all": {"exact": {"type": "x"}}})"),
            "all: expected a list, got a mapping");
  EXPECT_EQ(parse_error(R"({"not": [{"exact": {"type": "x"}}]})"),
            "not: expected a mapping, got a list");
  EXPECT_EQ(parse_error(R"({"any": ["x"]})"), "any[0]: expected a mapping, got a string");
  EXPECT_EQ(parse_error("\"exact\""), "expected a mapping, got a string");
  auto f = parse_filter(json::parse(R"({"not": {"exact": {"type": 1}}})"));
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().field, "not.exact.type");
  EXPECT_EQ(f.error().message, "expected a string, got a number");
  EXPECT_EQ(f.error().code, errc::invalid_filter);
}

TEST(Filter, DataIsThePayloadNotAnAttribute) {
  EXPECT_EQ(parse_error(R"({"exact": {"data": "x"}})"),
            "exact.data: \"data\" is the event's payload, not an attribute");
}

TEST(Filter, OfSeveralErrorsTheFirstIsReturned) {
  EXPECT_EQ(parse_error(R"({"all": [{"exact": {"Type": "x"}}, {"prefix": {"type": ""}}]})"),
            "all[0].exact.Type: invalid attribute name \"Type\": expected lower-case letters "
            "and digits, starting with a letter");
}

// What config stores for the flow runtime (step_spec::attributes) is as_json of what the grammar
// read: it must read back as the same filter.
TEST(Filter, AsJsonReadsBackTheSameFilter) {
  for (std::string_view text :
       {R"({})", R"({"exact": {"type": "a", "source": "/b"}})", R"({"prefix": {"type": "a"}})",
        R"({"suffix": {"subject": ".jpg"}})", R"({"all": []})",
        R"({"any": [{"exact": {"type": "x"}}, {"not": {"suffix": {"type": "y"}}}]})",
        R"({"not": {}})"}) {
    const filter f = parsed(text);
    EXPECT_EQ(as_json(f), json::parse(text)) << text;
    auto again = parse_filter(as_json(f));
    ASSERT_TRUE(again) << text;
    EXPECT_EQ(*again, f) << text;
  }
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
