#include "event/event.h"

#include <gtest/gtest.h>

#include "event/tests/test_util.h"

namespace shfn::event {
namespace {

using testing::full_event;
using testing::minimal_event;

std::string validation_error(const cloud_event& e) {
  auto r = validate(e);
  return r ? "<valid>" : r.error().message;
}

TEST(Validate, AcceptsMinimalAndFullEvents) {
  EXPECT_EQ(validation_error(minimal_event()), "<valid>");
  EXPECT_EQ(validation_error(full_event()), "<valid>");
}

TEST(Validate, NamesTheMissingRequiredAttribute) {
  for (std::string_view name : {"id", "source", "type"}) {
    auto e = minimal_event();
    ASSERT_TRUE(set_attribute(e, name, ""));
    EXPECT_EQ(validation_error(e), "missing required attribute \"" + std::string(name) + "\"");
  }
  auto e = minimal_event();
  e.specversion.clear();
  EXPECT_EQ(validation_error(e), "missing required attribute \"specversion\"");
}

TEST(Validate, OnlySpecversion10) {
  auto e = minimal_event();
  e.specversion = "0.3";
  EXPECT_EQ(validation_error(e), "unsupported specversion \"0.3\": only \"1.0\" is supported");
  EXPECT_EQ(validate(e).error().code, errc::invalid_event);
}

TEST(Validate, ExtensionNames) {
  auto e = minimal_event();
  e.extensions = {{"Foo", "x"}};
  EXPECT_EQ(validation_error(e),
            "invalid attribute name \"Foo\": names are lower-case letters (a-z) and digits (0-9)");
  e.extensions = {{"my-ext", "x"}};
  EXPECT_EQ(validation_error(e),
            "invalid attribute name \"my-ext\": names are lower-case letters "
            "(a-z) and digits (0-9)");
  e.extensions = {{"data", "x"}};
  EXPECT_EQ(validation_error(e),
            "invalid attribute name \"data\": the name is reserved for the event data");
  e.extensions = {{"ext", "1"}, {"ext", "2"}};
  EXPECT_EQ(validation_error(e), "attribute \"ext\" is set twice");
  e.extensions = {{"subject", "x"}};
  EXPECT_EQ(validation_error(e), "extension \"subject\" has the name of a context attribute");
  // The 20-character limit is a SHOULD in the spec: longer names pass; so do leading digits.
  e.extensions = {{"averyveryverylongextensionname", "x"}, {"9lives", "y"}};
  EXPECT_EQ(validation_error(e), "<valid>");
}

TEST(Validate, Time) {
  auto e = minimal_event();
  e.time = "yesterday";
  EXPECT_EQ(validation_error(e), "time \"yesterday\" is not an RFC 3339 timestamp");
  for (const char* good : {"2018-04-05T17:31:00Z", "2018-04-05t17:31:00.123456789z",
                           "2020-02-29T23:59:60+01:00", "1985-04-12T23:20:50.52-04:00"}) {
    e.time = good;
    EXPECT_EQ(validation_error(e), "<valid>") << good;
  }
  for (const char* bad :
       {"2018-04-05", "2018-04-05T17:31:00", "2019-02-29T00:00:00Z", "2018-13-01T00:00:00Z",
        "2018-04-05T24:00:00Z", "2018-04-05T17:31:00.Z", "2018-04-05 17:31:00Z",
        "2018-04-05T17:31:00+0100", "2018-04-05T17:31:00Z ", "2018-4-05T17:31:00Z"}) {
    e.time = bad;
    EXPECT_NE(validation_error(e), "<valid>") << bad;
  }
}

TEST(Validate, OptionalAttributesAndValues) {
  auto e = minimal_event();
  e.subject = "";
  EXPECT_EQ(validation_error(e), "attribute \"subject\" is empty");
  e = minimal_event();
  e.source = "not a uri";
  EXPECT_EQ(validation_error(e), "source \"not a uri\" is not a URI-reference");
  e = minimal_event();
  e.source = "bad%zz";
  EXPECT_EQ(validation_error(e), "source \"bad%zz\" is not a URI-reference");
  e = minimal_event();
  e.dataschema = "/relative/schema";
  EXPECT_EQ(validation_error(e), "dataschema \"/relative/schema\" is not an absolute URI");
  e = minimal_event();
  e.datacontenttype = "json";
  EXPECT_EQ(validation_error(e), "datacontenttype \"json\" is not a media type (type/subtype)");
  e.datacontenttype = "text/plain; charset=utf-8";
  EXPECT_EQ(validation_error(e), "<valid>");
  e = minimal_event();
  e.extensions = {{"ext", "line\nbreak"}};
  EXPECT_EQ(validation_error(e), "attribute \"ext\" contains the control character U+000A");
  e.extensions = {{"ext", std::string("nul\0", 4)}};
  EXPECT_EQ(validation_error(e), "attribute \"ext\" contains the control character U+0000");
  e.extensions = {{"ext", "\xC0\xA0"}};
  EXPECT_EQ(validation_error(e), "attribute \"ext\" is not valid UTF-8");
  e.extensions = {{"ext", "\xEF\xBF\xBF"}};
  EXPECT_EQ(validation_error(e), "attribute \"ext\" contains the Unicode noncharacter U+FFFF");
  e.extensions = {{"ext", "Grüße 😀"}};
  EXPECT_EQ(validation_error(e), "<valid>");
  // Sources from the spec's examples.
  for (const char* source :
       {"https://github.com/cloudevents", "mailto:cncf-wg-serverless@lists.cncf.io",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "1-555-123-4567",
        "persistent://public/default/orders"}) {
    e = minimal_event();
    e.source = source;
    EXPECT_EQ(validation_error(e), "<valid>") << source;
  }
}

TEST(Attributes, GetSetRemove) {
  auto e = minimal_event();
  ASSERT_TRUE(set_attribute(e, "subject", "s"));
  ASSERT_TRUE(set_attribute(e, "myext", "1"));
  ASSERT_TRUE(set_attribute(e, "other", "2"));
  ASSERT_TRUE(set_attribute(e, "myext", "3"));  // replaced in place
  EXPECT_EQ(e.subject, "s");
  EXPECT_EQ(e.extensions, (attribute_list{{"myext", "3"}, {"other", "2"}}));
  EXPECT_EQ(attribute(e, "myext"), "3");
  EXPECT_EQ(attribute(e, "type"), "com.example.someevent");
  EXPECT_FALSE(attribute(e, "time"));
  EXPECT_FALSE(attribute(e, "missing"));
  EXPECT_EQ(set_attribute(e, "Bad", "x").error().message,
            "invalid attribute name \"Bad\": names are lower-case letters (a-z) and digits (0-9)");
  EXPECT_TRUE(remove_attribute(e, "subject"));
  EXPECT_FALSE(remove_attribute(e, "subject"));
  EXPECT_FALSE(remove_attribute(e, "id"));  // required
  EXPECT_TRUE(remove_attribute(e, "myext"));
  EXPECT_EQ(e.extensions, (attribute_list{{"other", "2"}}));

  const auto full = full_event();
  const auto all = attributes(full);  // views into `full`
  std::vector<std::string> names;
  for (auto [n, v] : all) names.emplace_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"specversion", "id", "source", "type",
                                             "datacontenttype", "dataschema", "subject", "time",
                                             "comexampleextension1", "partitionkey"}));
}

TEST(Time, UtcFormatting) {
  EXPECT_EQ(to_utc_rfc3339("2018-04-05T17:31:00Z"), "2018-04-05T17:31:00Z");
  EXPECT_EQ(to_utc_rfc3339("2018-04-05T19:31:00.120+02:00"), "2018-04-05T17:31:00.12Z");
  EXPECT_EQ(to_utc_rfc3339("2018-01-01T00:30:00+01:00"), "2017-12-31T23:30:00Z");
  EXPECT_EQ(to_utc_rfc3339("2020-02-28T23:00:00-01:30"), "2020-02-29T00:30:00Z");
  EXPECT_EQ(to_utc_rfc3339("2019-05-20T17:59:43.817184881234Z"), "2019-05-20T17:59:43.817184881Z");
  EXPECT_EQ(to_utc_rfc3339("2019-05-20T17:59:43.000Z"), "2019-05-20T17:59:43Z");
  EXPECT_FALSE(to_utc_rfc3339("2016-12-31T23:59:60Z"));  // a leap second: Go cannot show it
  EXPECT_FALSE(to_utc_rfc3339("yesterday"));
  EXPECT_EQ(format_time_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_time_ms(1704164645678), "2024-01-02T03:04:05.678Z");
  EXPECT_EQ(format_time_ms(-1), "1969-12-31T23:59:59.999Z");
}

TEST(ContentTypes, MediaTypeAndJson) {
  EXPECT_EQ(media_type(" Text/Plain ; charset=utf-8"), "text/plain");
  EXPECT_TRUE(is_json_content_type(std::nullopt));
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(is_json_content_type("text/json"));
  EXPECT_TRUE(is_json_content_type("application/vnd.api+json"));
  EXPECT_FALSE(is_json_content_type("application/xml"));
  EXPECT_FALSE(is_json_content_type("application/jsonx"));
  EXPECT_FALSE(is_json_content_type("text/plain"));
}

}  // namespace
}  // namespace shfn::event
