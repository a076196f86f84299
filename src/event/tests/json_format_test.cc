#include "event/json_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "event/tests/test_util.h"

namespace shfn::event {
namespace {

using testing::full_event;
using testing::minimal_event;
using testing::to_bytes;
using testing::to_string;

std::string decode_error(std::string_view text) {
  auto r = from_json(text);
  return r ? "<decoded>" : r.error().message;
}

TEST(JsonFormat, WritesAttributesInOrderAndJsonDataAsItIs) {
  EXPECT_EQ(to_json(full_event()),
            R"({"specversion":"1.0","id":"1234-1234-1234","source":"/mycontext/subcontext",)"
            R"("type":"com.example.someevent","datacontenttype":"application/json",)"
            R"("dataschema":"https://example.com/schema.json","subject":"mynewfile.jpg",)"
            R"("time":"2018-04-05T17:31:00Z","comexampleextension1":"value",)"
            R"("partitionkey":"customer-7","data":{"appinfoA":"abc","appinfoB":123}})");
  EXPECT_EQ(
      to_json(minimal_event()),
      R"({"specversion":"1.0","id":"A234","source":"/mycontext","type":"com.example.someevent"})");
}

TEST(JsonFormat, ChoosesDataDataStringOrBase64) {
  auto e = minimal_event();
  e.has_data = true;
  // JSON data, no content type (JSON implied): the value itself, surrounding whitespace dropped.
  e.data = to_bytes(" [1, 2.50, {\"k\": null}]\n");
  EXPECT_TRUE(to_json(e).ends_with(R"(,"data":[1, 2.50, {"k": null}]})"));
  // Text data: a JSON string.
  e.datacontenttype = "text/plain";
  e.data = to_bytes("héllo \"x\"\n");
  EXPECT_TRUE(to_json(e).ends_with(R"(,"data":"héllo \"x\"\n"})")) << to_json(e);
  e.datacontenttype = "application/xml";
  e.data = to_bytes("<much wow=\"xml\"/>");
  EXPECT_TRUE(to_json(e).ends_with(R"(,"data":"<much wow=\"xml\"/>"})"));
  // Binary data, text that is not UTF-8, "JSON" that does not parse: data_base64.
  e.datacontenttype = "application/octet-stream";
  e.data = bytes{0x00, 0xFF, 0x10, 'a'};
  EXPECT_TRUE(to_json(e).ends_with(R"(,"data_base64":"AP8QYQ=="})"));
  e.datacontenttype = "text/plain";
  e.data = bytes{'a', 0xC3};
  EXPECT_TRUE(to_json(e).ends_with(R"(,"data_base64":"YcM="})"));
  e.datacontenttype = "application/json";
  e.data = to_bytes("{not json");
  EXPECT_TRUE(to_json(e).ends_with(R"(,"data_base64":"e25vdCBqc29u"})"));
  e.datacontenttype.reset();
  e.data = to_bytes("plain words");
  EXPECT_TRUE(to_json(e).ends_with(R"(,"data_base64":"cGxhaW4gd29yZHM="})"));
  // JSON text followed by a NUL is not JSON (a parser that stops at the NUL would say it is).
  e.data = to_bytes(std::string_view("3\n\0garbage", 10));
  EXPECT_TRUE(to_json(e).ends_with(R"(,"data_base64":"MwoAZ2FyYmFnZQ=="})")) << to_json(e);
  // Data present but empty.
  e.data.clear();
  EXPECT_TRUE(to_json(e).ends_with(R"(,"data_base64":""})"));
}

TEST(JsonFormat, ReadsTheSpecExamples) {
  auto binary = from_json(R"({
    "specversion" : "1.0",
    "type" : "com.example.someevent",
    "source" : "/mycontext",
    "id" : "A234-1234-1234",
    "time" : "2018-04-05T17:31:00Z",
    "comexampleextension1" : "value",
    "comexampleothervalue" : 5,
    "datacontenttype" : "application/vnd.apache.thrift.binary",
    "data_base64" : "AP8Q"
  })");
  ASSERT_TRUE(binary) << binary.error().message;
  EXPECT_EQ(binary->data, (bytes{0x00, 0xFF, 0x10}));
  EXPECT_TRUE(binary->has_data);
  EXPECT_EQ(binary->extensions,
            (attribute_list{{"comexampleextension1", "value"}, {"comexampleothervalue", "5"}}));

  auto xml = from_json(R"({"specversion":"1.0","type":"t","source":"/s","id":"B",
    "unsetextension": null, "subject": null,
    "datacontenttype":"application/xml","data":"<much wow=\"xml\"/>"})");
  ASSERT_TRUE(xml) << xml.error().message;
  EXPECT_EQ(to_string(xml->data), "<much wow=\"xml\"/>");
  EXPECT_TRUE(xml->extensions.empty());
  EXPECT_FALSE(xml->subject);

  // JSON data keeps its bytes; no datacontenttype means application/json, made explicit.
  auto json = from_json(R"({"specversion":"1.0","type":"t","source":"/s","id":"C",
    "data" : {"b": 1.50, "a": [true, 12345678901234567890123]} })");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(to_string(json->data), R"({"b": 1.50, "a": [true, 12345678901234567890123]})");
  EXPECT_EQ(json->datacontenttype, "application/json");

  auto string_data = from_json(R"({"specversion":"1.0","type":"t","source":"/s","id":"D",
    "data":"I'm just a string"})");
  ASSERT_TRUE(string_data);
  EXPECT_EQ(to_string(string_data->data), R"("I'm just a string")");

  auto null_data =
      from_json(R"({"specversion":"1.0","type":"t","source":"/s","id":"E","data":null})");
  ASSERT_TRUE(null_data);
  EXPECT_TRUE(null_data->has_data);
  EXPECT_EQ(to_string(null_data->data), "null");
}

TEST(JsonFormat, ClearErrors) {
  EXPECT_EQ(decode_error(""),
            "structured CloudEvent is not valid JSON: expected a JSON object at byte 0");
  EXPECT_EQ(decode_error("[1]"),
            "structured CloudEvent is not valid JSON: expected a JSON object at byte 0");
  EXPECT_EQ(decode_error(R"({"id":"x",})"),
            "structured CloudEvent is not valid JSON: expected a member name at byte 10");
  EXPECT_EQ(decode_error(R"({"id" "x"})"),
            "structured CloudEvent is not valid JSON: expected ':' at byte 6");
  EXPECT_EQ(decode_error(R"({"id":"x"} trailing)"),
            "structured CloudEvent is not valid JSON: unexpected text after the object at byte 11");
  EXPECT_EQ(decode_error(R"({"id":tru})"),
            "structured CloudEvent is not valid JSON: invalid value of \"id\" at byte 6");
  EXPECT_EQ(decode_error(R"({"id":"x","source":"/s","type":"t"})"),
            "missing required attribute \"specversion\"");
  EXPECT_EQ(decode_error(R"({"specversion":"1.0","id":"x","type":"t"})"),
            "missing required attribute \"source\"");
  EXPECT_EQ(decode_error(R"({"specversion":"1.0","id":5,"source":"/s","type":"t"})"),
            "attribute \"id\" must be a JSON string");
  EXPECT_EQ(
      decode_error(R"({"specversion":"1.0","id":"x","source":"/s","type":"t","ext":{"a":1}})"),
      "extension \"ext\" must be a string, a boolean or an integer, not an object");
  EXPECT_EQ(
      decode_error(R"({"specversion":"1.0","id":"x","source":"/s","type":"t","ext":1.5})"),
      "extension \"ext\" must be a string, a boolean or an integer, not a non-integer number");
  EXPECT_EQ(
      decode_error(R"({"specversion":"1.0","id":"x","source":"/s","type":"t","ext":4294967296})"),
      "extension \"ext\" must be a string, a boolean or an integer, not an integer outside "
      "the 32-bit range");
  EXPECT_EQ(decode_error(R"({"specversion":"1.0","id":"x","id":"y","source":"/s","type":"t"})"),
            "member \"id\" appears twice");
  EXPECT_EQ(decode_error(R"({"specversion":"1.0","id":"x","source":"/s","type":"t","Bad":"1"})"),
            "invalid attribute name \"Bad\": names are lower-case letters (a-z) and digits (0-9)");
  EXPECT_EQ(
      decode_error(
          R"({"specversion":"1.0","id":"x","source":"/s","type":"t","data":1,"data_base64":"AA=="})"),
      "both \"data\" and \"data_base64\" are present");
  EXPECT_EQ(
      decode_error(R"({"specversion":"1.0","id":"x","source":"/s","type":"t","data_base64":"A"})"),
      "data_base64 is not valid Base64");
  EXPECT_EQ(
      decode_error(
          R"({"specversion":"1.0","id":"x","source":"/s","type":"t","datacontenttype":"text/plain","data":{}})"),
      "data must be a JSON string when datacontenttype \"text/plain\" is not JSON (binary "
      "data goes in data_base64)");
  EXPECT_EQ(
      decode_error(R"({"specversion":"1.0","id":"x","source":"/s","type":"t","data":{"a":}})"),
      "structured CloudEvent is not valid JSON: invalid \"data\" value at byte 62");
  EXPECT_EQ(
      decode_error("{\"specversion\":\"1.0\",\"id\":\"\xff\",\"source\":\"/s\",\"type\":\"t\"}"),
      "structured CloudEvent is not valid JSON: invalid value of \"id\" at byte 26");
  EXPECT_EQ(
      decode_error(std::string_view(
          "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"t\",\"data\":1\0}",
          65)),
      "structured CloudEvent is not valid JSON: unexpected NUL byte at byte 63");
  EXPECT_EQ(from_json("nope").error().code, errc::invalid_json);
  EXPECT_EQ(from_json(R"({"id":"x"})").error().code, errc::invalid_event);
}

TEST(JsonFormat, RoundTrips) {
  auto unicode = full_event();
  unicode.subject = "Grüße 😀 \"quoted\" \\ back";
  unicode.extensions.emplace_back("note", "日本語");
  for (const cloud_event& e : {full_event(), minimal_event(), unicode}) {
    auto back = from_json(to_json(e));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, e);
  }
  auto binary = minimal_event();
  binary.datacontenttype = "image/png";
  binary.data = bytes{0x89, 'P', 'N', 'G', 0x00, 0x0D, 0x0A, 0x1A, 0xFF};
  binary.has_data = true;
  auto back = from_json(to_json(binary));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, binary);
  // Empty data stays "present but empty".
  binary.data.clear();
  back = from_json(to_json(binary));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->has_data);
  EXPECT_TRUE(back->data.empty());
}

TEST(JsonFormat, OutputIsJsonAnotherParserReads) {
  auto e = full_event();
  e.subject = "tab\there";  // invalid as an attribute, but the encoder must still escape it
  const auto parsed = nlohmann::json::parse(to_json(e));
  EXPECT_EQ(parsed["subject"], "tab\there");
  EXPECT_EQ(parsed["data"]["appinfoB"], 123);
}

TEST(JsonFormat, StructuredFormatOf) {
  EXPECT_EQ(structured_format_of("application/cloudevents+json"), structured_format::json);
  EXPECT_EQ(structured_format_of("Application/CloudEvents+JSON; charset=UTF-8"),
            structured_format::json);
  EXPECT_EQ(structured_format_of("application/cloudevents"), structured_format::json);
  EXPECT_EQ(structured_format_of("application/cloudevents-batch+json"), structured_format::batch);
  EXPECT_EQ(structured_format_of("application/cloudevents+avro"), structured_format::other);
  EXPECT_EQ(structured_format_of("application/json"), structured_format::none);
}

}  // namespace
}  // namespace shfn::event
