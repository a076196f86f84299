// CESQL (cesql.h): the choices shfn makes where the spec leaves room, errors, and the `cesql`
// filter dialect. The spec's own TCK runs in cesql_tck_test.cc.
#include "event/cesql.h"

#include <gtest/gtest.h>

#include "event/filter.h"
#include "event/tests/test_util.h"

namespace shfn::event::cesql {
namespace {

using testing::full_event;

result run(std::string_view text, const cloud_event& e = full_event()) {
  auto x = compile(text);
  EXPECT_TRUE(x) << text << ": " << x.error().message;
  return x ? (*x)->evaluate(e) : result{false, failure{error_kind::parse, "no"}};
}

std::string syntax_error(std::string_view text) {
  auto x = compile(text);
  return x ? "<compiled>" : x.error().message;
}

TEST(Cesql, AttributesAreStringsCastWhereTheOperatorNeedsIt) {
  cloud_event e = full_event();
  e.extensions.emplace_back("sequence", "10");
  EXPECT_EQ(run("sequence = 10", e).v, value(true));
  EXPECT_EQ(run("sequence + 1", e).v, value(11));
  EXPECT_EQ(run("sequence", e).v, value(std::string("10")));
  EXPECT_EQ(run("type LIKE 'com.example.%'").v, value(true));
  EXPECT_EQ(run("SUBJECT = 'mynewfile.jpg'").v, value(true));  // identifiers ignore case
}

TEST(Cesql, LogicOperatorsShareALevelAndGroupToTheRight) {
  // a AND b OR c is a AND (b OR c): with a false, the whole is false.
  EXPECT_EQ(run("FALSE AND FALSE OR TRUE").v, value(false));
  EXPECT_EQ(run("(FALSE AND FALSE) OR TRUE").v, value(true));
  // NOT binds tighter than a comparison: (NOT TRUE) = FALSE.
  EXPECT_EQ(run("NOT TRUE = FALSE").v, value(true));
  EXPECT_EQ(run("1 + 2 * 3 = 7 AND 'ab' LIKE 'a_'").v, value(true));
}

TEST(Cesql, SubtractionNeedsNoSpaces) {
  EXPECT_EQ(run("4-1").v, value(3));
  EXPECT_EQ(run("4 - -1").v, value(5));
  EXPECT_EQ(run("-2147483648").v, value(std::numeric_limits<std::int32_t>::min()));
}

TEST(Cesql, AFailedOperandGivesTheOperationsZeroAndTheError) {
  const result r = run("LENGTH(missing) + 1");
  EXPECT_EQ(r.v, value(0));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->kind, error_kind::missing_attribute);
  EXPECT_EQ(r.error->message, "the event has no attribute \"missing\"");
  const result cast_failure = run("type + 1");
  EXPECT_EQ(cast_failure.error->kind, error_kind::cast);
  EXPECT_EQ(cast_failure.error->message, "cannot cast \"com.example.someevent\" to Integer");
  EXPECT_EQ(run("2147483647 + 1").v, value(std::numeric_limits<std::int32_t>::min()));
}

TEST(Cesql, TextFunctionsCountCodePoints) {
  cloud_event e = full_event();
  e.subject = "h\xC3\xA9llo";  // héllo
  EXPECT_EQ(run("LENGTH(subject)", e).v, value(5));
  EXPECT_EQ(run("LEFT(subject, 2)", e).v, value(std::string("h\xC3\xA9")));
  EXPECT_EQ(run("subject LIKE 'h_llo'", e).v, value(true));
  EXPECT_EQ(run("TRIM('\xE3\x80\x80 x \xC2\xA0')").v, value(std::string("x")));  // U+3000, U+00A0
}

TEST(Cesql, LikeBacktracksAcrossRuns) {
  EXPECT_EQ(run("'aXbXbc' LIKE 'a%b%c'").v, value(true));
  EXPECT_EQ(run("'abcabd' LIKE '%abd'").v, value(true));
  EXPECT_EQ(run("'abcab' LIKE '%abd'").v, value(false));
  EXPECT_EQ(run("'100%' LIKE '100\\%'").v, value(true));
  EXPECT_EQ(run("'1000' LIKE '100\\%'").v, value(false));
}

TEST(Cesql, SyntaxErrorsSayWhereAndWhat) {
  EXPECT_EQ(syntax_error("type = "), "column 8: expected an expression, found the end");
  EXPECT_EQ(syntax_error("type = 'a"), "column 8: string literal is not closed");
  EXPECT_EQ(syntax_error("LOWER(type"),
            "column 11: expected ')' to close the arguments of LOWER, found the end");
  EXPECT_EQ(syntax_error("type LIKE 3"), "column 11: LIKE takes a string literal pattern, not '3'");
  EXPECT_EQ(syntax_error("x IN ()"), "column 7: expected an expression, found ')'");
  EXPECT_EQ(syntax_error("2147483648"), "column 1: integer 2147483648 is out of the 32-bit range");
  EXPECT_EQ(syntax_error("type == 'a'"), "column 7: expected an expression, found '='");
  EXPECT_EQ(syntax_error("a NOT b"), "column 3: unexpected 'NOT'");
  EXPECT_EQ(syntax_error("type; 1"), "column 5: unexpected character ';'");
}

TEST(Cesql, UnknownFunctionsAreListedAndFailWhenCalled) {
  auto x = compile("NOPE(type) OR LEFT('a')");
  ASSERT_TRUE(x);
  EXPECT_EQ((*x)->unknown_functions(),
            (std::vector<std::string>{"NOPE with 1 argument", "LEFT with 1 argument"}));
  EXPECT_EQ((*x)->evaluate(full_event()).error->kind, error_kind::missing_function);
}

TEST(CesqlFilter, PassesOnlyATrueWithoutError) {
  const auto passes = [](std::string_view text) {
    auto f = parse_filter(nlohmann::json{{"cesql", text}});
    EXPECT_TRUE(f) << f.error().to_string();
    return f && matches(*f, full_event());
  };
  EXPECT_TRUE(passes("type = 'com.example.someevent' AND EXISTS partitionkey"));
  EXPECT_FALSE(passes("type = 'other'"));
  EXPECT_FALSE(passes("NOT (missing = 'x')"));  // an error fails, even under NOT
  EXPECT_FALSE(passes("'true'"));               // a String is no Boolean
  EXPECT_TRUE(passes("true"));
}

TEST(CesqlFilter, ParsesRoundTripsAndRefusesBadExpressions) {
  auto f = parse_filter(nlohmann::json::parse(R"({"all": [{"cesql": "subject LIKE '%.jpg'"}]})"));
  ASSERT_TRUE(f);
  EXPECT_EQ(as_json(*f).dump(), R"({"all":[{"cesql":"subject LIKE '%.jpg'"}]})");
  EXPECT_EQ(*parse_filter(as_json(*f)), *f);
  EXPECT_EQ(parse_filter(nlohmann::json{{"cesql", "type ="}}).error().to_string(),
            "cesql: invalid CESQL expression: column 7: expected an expression, found the end");
  EXPECT_EQ(parse_filter(nlohmann::json{{"cesql", "LEN(type) > 1"}}).error().to_string(),
            "cesql: CESQL has no function LEN with 1 argument");
  EXPECT_EQ(parse_filter(nlohmann::json{{"cesql", 3}}).error().to_string(),
            "cesql: expected a string, got a number");
}

}  // namespace
}  // namespace shfn::event::cesql
