#include "event/display.h"

#include <gtest/gtest.h>

#include "event/tests/test_util.h"

namespace shfn::event {
namespace {

using testing::full_event;
using testing::minimal_event;
using testing::to_bytes;

TEST(Display, FullEventAsEventDisplayPrintsIt) {
  auto e = full_event();
  e.extensions = {{"zeta", "last"}, {"alpha", "first"}};
  EXPECT_EQ(display(e),
            "\xE2\x98\x81\xEF\xB8\x8F  cloudevents.Event\n"
            "Context Attributes,\n"
            "  specversion: 1.0\n"
            "  type: com.example.someevent\n"
            "  source: /mycontext/subcontext\n"
            "  subject: mynewfile.jpg\n"
            "  id: 1234-1234-1234\n"
            "  time: 2018-04-05T17:31:00Z\n"
            "  dataschema: https://example.com/schema.json\n"
            "  datacontenttype: application/json\n"
            "Extensions,\n"
            "  alpha: first\n"
            "  zeta: last\n"
            "Data,\n"
            "  {\n"
            "    \"appinfoA\": \"abc\",\n"
            "    \"appinfoB\": 123\n"
            "  }\n");
}

TEST(Display, MinimalEventHasNoOptionalSections) {
  EXPECT_EQ(display(minimal_event()),
            "\xE2\x98\x81\xEF\xB8\x8F  cloudevents.Event\n"
            "Context Attributes,\n"
            "  specversion: 1.0\n"
            "  type: com.example.someevent\n"
            "  source: /mycontext\n"
            "  id: A234\n");
}

TEST(Display, TimeInUtcAndNonJsonDataAsIs) {
  auto e = minimal_event();
  e.time = "2019-05-20T19:59:43.817184880+02:00";
  e.datacontenttype = "text/plain";
  e.data = to_bytes("hello\nworld");
  e.has_data = true;
  EXPECT_EQ(display(e),
            "\xE2\x98\x81\xEF\xB8\x8F  cloudevents.Event\n"
            "Context Attributes,\n"
            "  specversion: 1.0\n"
            "  type: com.example.someevent\n"
            "  source: /mycontext\n"
            "  id: A234\n"
            "  time: 2019-05-20T17:59:43.81718488Z\n"
            "  datacontenttype: text/plain\n"
            "Data,\n"
            "  hello\n"
            "world\n");
}

TEST(Display, OnlyApplicationJsonIsIndented) {
  auto e = minimal_event();
  e.data = to_bytes(R"({"a":1})");
  e.has_data = true;
  // No datacontenttype: Go's media type is "", so the data is written as it is.
  EXPECT_TRUE(display(e).ends_with("Data,\n  {\"a\":1}\n"));
  e.datacontenttype = "application/json; charset=utf-8";
  EXPECT_TRUE(display(e).ends_with("Data,\n  {\n    \"a\": 1\n  }\n"));
  e.datacontenttype = "application/vnd.x+json";
  EXPECT_TRUE(display(e).ends_with("Data,\n  {\"a\":1}\n"));
  e.datacontenttype = "application/json";
  e.data = to_bytes("{not json");
  EXPECT_TRUE(display(e).ends_with("Data,\n  {not json\n"));
}

TEST(GoJsonIndent, MatchesEncodingJson) {
  auto indent = [](std::string_view s) { return go_json_indent(s, "", "\t").value_or("<error>"); };
  EXPECT_EQ(indent("[]"), "[]");
  EXPECT_EQ(indent(" { } "), "{} ");  // leading space dropped, trailing kept
  EXPECT_EQ(indent("[1,2]"), "[\n\t1,\n\t2\n]");
  EXPECT_EQ(indent(R"({"a" : {"b":[ ]}, "c":"x, y: {z}"})"),
            "{\n\t\"a\": {\n\t\t\"b\": []\n\t},\n\t\"c\": \"x, y: {z}\"\n}");
  EXPECT_EQ(indent("\"\\u00e9\\n\""), "\"\\u00e9\\n\"");  // strings are kept verbatim
  EXPECT_EQ(indent("-0.5e+10"), "-0.5e+10");
  EXPECT_EQ(indent("\"\xff\""), "\"\xff\"");  // Go does not check UTF-8 either
  EXPECT_EQ(go_json_indent("[1]", ">", "  "), "[\n>  1\n>]");
  for (std::string_view bad : {"", "[1,]", "{\"a\" 1}", "[1 2]", "01", "1.", "tru", "{\"a\":1}}",
                               "[\"\t\"]", "\"\\x\"", "[", "{,}", "nul", "{\"a\"}", "1 2"}) {
    EXPECT_FALSE(go_json_indent(bad, "", "\t")) << bad;
  }
}

}  // namespace
}  // namespace shfn::event
