#include "event/http_binding.h"

#include <gtest/gtest.h>

#include <map>

#include "event/json_format.h"
#include "event/tests/test_util.h"

namespace shfn::event {
namespace {

using testing::full_event;
using testing::minimal_event;
using testing::to_bytes;
using testing::to_string;

constexpr std::string_view valid_parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

std::string http_error(const header_list& headers, std::string_view body = "") {
  auto r = from_http(headers, as_bytes(body));
  return r ? "<decoded>" : r.error().message;
}

TEST(PercentEncoding, AsTheBindingRequires) {
  // The binding's own example.
  EXPECT_EQ(percent_encode_header_value("Euro € 😀"), "Euro%20%E2%82%AC%20%F0%9F%98%80");
  EXPECT_EQ(percent_encode_header_value("a\"b%c"), "a%22b%25c");
  EXPECT_EQ(percent_encode_header_value("/mycontext?x=1&y=[2]"), "/mycontext?x=1&y=[2]");
  EXPECT_EQ(decode_header_value("Euro%20%e2%82%ac%20%F0%9F%98%80"), "Euro € 😀");
  EXPECT_EQ(decode_header_value("%41%42C"), "ABC");  // unnecessary encoding is accepted
  EXPECT_EQ(decode_header_value(R"("quoted \"value\" with spaces")"),
            R"(quoted "value" with spaces)");
  EXPECT_EQ(decode_header_value("  padded  "), "padded");
  EXPECT_FALSE(decode_header_value("%C0%A0"));  // overlong UTF-8, which the binding rejects
  EXPECT_FALSE(decode_header_value("%FF"));
  EXPECT_FALSE(decode_header_value("100%"));
  EXPECT_FALSE(decode_header_value("%zz"));
  EXPECT_FALSE(decode_header_value(R"("unterminated)"));
  EXPECT_FALSE(decode_header_value(R"("a" b)"));
}

TEST(HttpBinary, HeadersOut) {
  auto e = full_event();
  e.subject = "file name.jpg";
  e.extensions.emplace_back("traceparent", std::string(valid_parent));
  EXPECT_EQ(to_http_headers(e), (header_list{{"ce-specversion", "1.0"},
                                             {"ce-id", "1234-1234-1234"},
                                             {"ce-source", "/mycontext/subcontext"},
                                             {"ce-type", "com.example.someevent"},
                                             {"content-type", "application/json"},
                                             {"ce-dataschema", "https://example.com/schema.json"},
                                             {"ce-subject", "file%20name.jpg"},
                                             {"ce-time", "2018-04-05T17:31:00Z"},
                                             {"ce-comexampleextension1", "value"},
                                             {"ce-partitionkey", "customer-7"},
                                             {"ce-traceparent", std::string(valid_parent)},
                                             {"traceparent", std::string(valid_parent)}}));
  const auto m = to_http(e);
  EXPECT_EQ(m.headers, to_http_headers(e));
  EXPECT_EQ(m.body, e.data);
}

TEST(HttpBinary, ResponseIn) {
  const header_list headers{{"Ce-Specversion", "1.0"},
                            {"CE-ID", "r-1"},
                            {"ce-source", "/reply"},
                            {"ce-type", "com.example.reply"},
                            {"ce-subject", "%C3%BC%20x"},
                            {"Content-Type", "text/plain"},
                            {"ce-MyExt", "v"},
                            {"Content-Length", "2"},
                            {"Server", "test"}};
  auto r = from_http(headers, as_bytes("ok"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(*r);
  const auto& e = **r;
  EXPECT_EQ(e.id, "r-1");
  EXPECT_EQ(e.subject, "ü x");
  EXPECT_EQ(e.datacontenttype, "text/plain");
  EXPECT_EQ(e.extensions, (attribute_list{{"myext", "v"}}));
  EXPECT_EQ(to_string(e.data), "ok");
  EXPECT_TRUE(e.has_data);
}

TEST(HttpBinary, RoundTrips) {
  auto e = full_event();
  e.subject = "Grüße \"aus\" 100% Köln 😀";
  e.extensions.emplace_back("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  e.extensions.emplace_back("traceparent", std::string(valid_parent));
  const auto m = to_http(e);
  auto back = from_http(m.headers, m.body);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_TRUE(*back);
  EXPECT_EQ(**back, e);

  auto binary = minimal_event();
  binary.datacontenttype = "application/octet-stream";
  binary.data = bytes{0x00, 0xFF, 0x00};
  binary.has_data = true;
  const auto bm = to_http(binary);
  back = from_http(bm.headers, bm.body);
  ASSERT_TRUE(back);
  EXPECT_EQ(**back, binary);
}

TEST(HttpStructured, ResponseIn) {
  auto body = to_json(full_event());
  auto r =
      from_http({{"content-type", "application/cloudevents+json; charset=utf-8"}}, as_bytes(body));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(*r);
  EXPECT_EQ(**r, full_event());
  // An event whose data is an event goes out structured, and comes back the same.
  auto nested = minimal_event();
  nested.datacontenttype = "application/cloudevents+json";
  nested.data = to_bytes(R"({"specversion":"1.0","id":"in","source":"/i","type":"t"})");
  nested.has_data = true;
  const auto m = to_http(nested);
  EXPECT_EQ(m.headers, (header_list{{"content-type", "application/cloudevents+json"}}));
  r = from_http(m.headers, m.body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(**r, nested);
}

TEST(Http, NoEventAndNotAnEvent) {
  auto none = from_http({{"Content-Length", "0"}, {"Content-Type", "text/plain"}}, {});
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto body = from_http({{"Content-Type", "text/plain"}}, as_bytes("hello"));
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().code, errc::not_a_cloud_event);
  EXPECT_EQ(body.error().message,
            "not a CloudEvent: a body without a ce-specversion header, and Content-Type is not "
            "application/cloudevents+json");
  EXPECT_EQ(http_error({{"ce-id", "1"}}), "not a CloudEvent: ce- headers but no ce-specversion");
}

TEST(Http, ClearErrors) {
  const header_list base{
      {"ce-specversion", "1.0"}, {"ce-id", "1"}, {"ce-source", "/s"}, {"ce-type", "t"}};
  auto with = [&](header_list extra) {
    header_list h = base;
    h.insert(h.end(), extra.begin(), extra.end());
    return h;
  };
  EXPECT_EQ(http_error({{"ce-specversion", "1.0"}, {"ce-id", "1"}, {"ce-type", "t"}}),
            "missing required attribute \"source\"");
  EXPECT_EQ(http_error(with({{"CE-ID", "2"}})), "header \"ce-id\" appears twice");
  EXPECT_EQ(http_error(with({{"ce-subject", "%FF"}})),
            "header \"ce-subject\" has a value that does not decode: \"%FF\" (bad quoting, "
            "percent-encoding or UTF-8)");
  EXPECT_EQ(http_error(with({{"ce-my_ext", "x"}})),
            "invalid attribute name \"my_ext\": names are lower-case letters (a-z) and digits "
            "(0-9) (header \"ce-my_ext\")");
  EXPECT_EQ(http_error(with({{"Content-Type", "text/plain"}, {"ce-datacontenttype", "text/html"}})),
            "conflicting datacontenttype: Content-Type is \"text/plain\" but ce-datacontenttype is "
            "\"text/html\"");
  EXPECT_EQ(http_error({{"content-type", "application/cloudevents-batch+json"}}, "[]"),
            "batched CloudEvents (Content-Type \"application/cloudevents-batch+json\") are not "
            "supported");
  EXPECT_EQ(http_error({{"content-type", "application/cloudevents+xml"}}, "<x/>"),
            "unsupported CloudEvents format \"application/cloudevents+xml\": only "
            "application/cloudevents+json is supported");
  EXPECT_EQ(http_error({{"content-type", "application/cloudevents+json"}}, "{}"),
            "missing required attribute \"specversion\"");
}

TEST(Http, AdoptsPlainTraceHeadersOnlyWhenTheEventHasNone) {
  const header_list base{
      {"ce-specversion", "1.0"}, {"ce-id", "1"}, {"ce-source", "/s"}, {"ce-type", "t"}};
  header_list h = base;
  h.emplace_back("traceparent", std::string(valid_parent));
  h.emplace_back("tracestate", "rojo=1");
  auto r = from_http(h, {});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->extensions,
            (attribute_list{{"traceparent", std::string(valid_parent)}, {"tracestate", "rojo=1"}}));

  h = base;
  h.emplace_back("ce-traceparent", "00-11111111111111111111111111111111-2222222222222222-00");
  h.emplace_back("traceparent", std::string(valid_parent));
  r = from_http(h, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(attribute(**r, "traceparent"),
            "00-11111111111111111111111111111111-2222222222222222-00");

  h = base;
  h.emplace_back("traceparent", "not-valid");
  r = from_http(h, {});
  ASSERT_TRUE(r);
  EXPECT_TRUE((*r)->extensions.empty());
}

TEST(Http, MapOverload) {
  std::map<std::string, std::string> fields{
      {"ce-specversion", "1.0"}, {"ce-id", "1"}, {"ce-source", "/s"}, {"ce-type", "t"}};
  auto r = from_http(header_list(fields.begin(), fields.end()), as_bytes("x"));
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->id, "1");
}

}  // namespace
}  // namespace shfn::event
