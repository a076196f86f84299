#include "event/pulsar_binding.h"

#include <gtest/gtest.h>

#include "event/json_format.h"
#include "event/tests/test_util.h"

namespace shfn::event {
namespace {

using testing::full_event;
using testing::minimal_event;
using testing::to_bytes;
using testing::to_string;

std::string decode_error(const properties& props, std::string_view payload = "") {
  auto r = decode(props, as_bytes(payload));
  return r ? "<decoded>" : r.error().message;
}

TEST(PulsarBinary, EncodesAttributesAsPropertiesAndDataAsPayload) {
  const auto m = encode_binary(full_event(), {{"trace-id", "abc"}, {"ce_id", "stale"}});
  EXPECT_EQ(m.props, (properties{{"ce_specversion", "1.0"},
                                 {"ce_id", "1234-1234-1234"},
                                 {"ce_source", "/mycontext/subcontext"},
                                 {"ce_type", "com.example.someevent"},
                                 {"content-type", "application/json"},
                                 {"ce_dataschema", "https://example.com/schema.json"},
                                 {"ce_subject", "mynewfile.jpg"},
                                 {"ce_time", "2018-04-05T17:31:00Z"},
                                 {"ce_comexampleextension1", "value"},
                                 {"ce_partitionkey", "customer-7"},
                                 {"trace-id", "abc"}}));
  EXPECT_EQ(to_string(m.payload), R"({"appinfoA":"abc","appinfoB":123})");
  EXPECT_TRUE(encode_binary(minimal_event()).payload.empty());
}

TEST(PulsarBinary, DecodesTheKafkaBindingExample) {
  const properties props{{"ce_specversion", "1.0"},
                         {"ce_type", "com.example.someevent"},
                         {"ce_source", "/mycontext/subcontext"},
                         {"ce_id", "1234-1234-1234"},
                         {"ce_time", "2018-04-05T03:56:24Z"},
                         {"content-type", "application/avro"},
                         {"app", "kept"},
                         {"ce_myext", "x"}};
  const bytes payload{0x00, 0x01, 0xFE};
  auto d = decode(props, payload);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->mode, content_mode::binary);
  EXPECT_EQ(d->event.type, "com.example.someevent");
  EXPECT_EQ(d->event.datacontenttype, "application/avro");
  EXPECT_EQ(d->event.time, "2018-04-05T03:56:24Z");
  EXPECT_EQ(d->event.extensions, (attribute_list{{"myext", "x"}}));
  EXPECT_EQ(d->event.data, payload);
  EXPECT_TRUE(d->event.has_data);
  EXPECT_EQ(d->user_properties, (properties{{"app", "kept"}}));

  // No payload: no data.
  auto empty = decode(
      {{"ce_specversion", "1.0"}, {"ce_id", "1"}, {"ce_source", "/s"}, {"ce_type", "t"}}, {});
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->event.has_data);
}

TEST(PulsarBinary, ClearErrors) {
  EXPECT_EQ(decode_error({{"ce_specversion", "1.0"}, {"ce_id", "1"}, {"ce_type", "t"}}),
            "missing required attribute \"source\"");
  EXPECT_EQ(decode_error(
                {{"ce_specversion", "0.3"}, {"ce_id", "1"}, {"ce_source", "/s"}, {"ce_type", "t"}}),
            "unsupported specversion \"0.3\": only \"1.0\" is supported");
  EXPECT_EQ(decode_error({{"ce_specversion", "1.0"},
                          {"ce_id", "1"},
                          {"ce_source", "/s"},
                          {"ce_type", "t"},
                          {"ce_Foo", "x"}}),
            "invalid attribute name \"Foo\": names are lower-case letters (a-z) and digits (0-9) "
            "(property \"ce_Foo\")");
  EXPECT_EQ(decode_error({{"ce_specversion", "1.0"}, {"ce_id", "1"}, {"ce_id", "2"}}),
            "property \"ce_id\" appears twice");
  EXPECT_EQ(decode_error({{"ce_specversion", "1.0"},
                          {"ce_id", "1"},
                          {"ce_source", "/s"},
                          {"ce_type", "t"},
                          {"content-type", "text/plain"},
                          {"ce_datacontenttype", "text/html"}}),
            "conflicting datacontenttype: property content-type is \"text/plain\" but "
            "ce_datacontenttype is \"text/html\"");
  EXPECT_EQ(decode_error({{"ce_specversion", "1.0"},
                          {"ce_id", "1"},
                          {"ce_source", "/s"},
                          {"ce_type", "t"},
                          {"ce_time", "yesterday"}}),
            "time \"yesterday\" is not an RFC 3339 timestamp");
  EXPECT_EQ(decode_error({{"app", "x"}}),
            "not a CloudEvent: no ce_specversion property, and content-type is not "
            "application/cloudevents+json");
  EXPECT_EQ(decode({{"app", "x"}}, {}).error().code, errc::not_a_cloud_event);
  EXPECT_EQ(decode_error({{"content-type", "application/cloudevents-batch+json"}}, "[]"),
            "batched CloudEvents (content-type \"application/cloudevents-batch+json\") are not "
            "supported on Pulsar messages");
  EXPECT_EQ(decode_error({{"content-type", "application/cloudevents+avro"}}),
            "unsupported CloudEvents format \"application/cloudevents+avro\": only "
            "application/cloudevents+json is supported");
  EXPECT_EQ(decode({{"content-type", "application/cloudevents+avro"}}, {}).error().code,
            errc::unsupported_format);
}

TEST(PulsarBinary, CeDatacontenttypeIsToleratedAlone) {
  auto d = decode({{"ce_specversion", "1.0"},
                   {"ce_id", "1"},
                   {"ce_source", "/s"},
                   {"ce_type", "t"},
                   {"ce_datacontenttype", "text/plain"}},
                  as_bytes("hi"));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->event.datacontenttype, "text/plain");
}

TEST(PulsarStructured, EncodesAndDecodes) {
  const auto m = encode_structured(full_event(), {{"app", "1"}, {"Content-Type", "x"}});
  EXPECT_EQ(m.props, (properties{{"content-type", "application/cloudevents+json"}, {"app", "1"}}));
  EXPECT_EQ(to_string(m.payload), to_json(full_event()));
  // ce_ properties beside a structured payload are ignored: the payload is authoritative.
  auto props = m.props;
  props.emplace_back("ce_id", "other");
  auto d = decode(props, m.payload);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->mode, content_mode::structured);
  EXPECT_EQ(d->event, full_event());
  EXPECT_EQ(d->user_properties, (properties{{"app", "1"}}));
}

TEST(PulsarStructured, DetectedByContentTypeCaseInsensitively) {
  auto d = decode({{"Content-Type", "Application/CloudEvents+JSON; charset=UTF-8"}},
                  as_bytes(R"({"specversion":"1.0","id":"1","source":"/s","type":"t"})"));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->mode, content_mode::structured);
  EXPECT_EQ(decode_error({{"content-type", "application/cloudevents+json"}}, "{not json"),
            "structured CloudEvent is not valid JSON: expected a member name at byte 1");
}

TEST(PulsarBinding, RoundTripsBetweenModes) {
  auto binary_data = minimal_event();
  binary_data.datacontenttype = "application/octet-stream";
  binary_data.data = bytes{0x00, 0x00, 0xC3, 0x28, 0xFF, 0x0A};  // NULs, invalid UTF-8
  binary_data.has_data = true;
  auto unicode = full_event();
  unicode.subject = "ünïcödé ☁️";
  unicode.extensions.emplace_back("emoji", "😀 and \"quotes\"");
  unicode.datacontenttype = "text/plain; charset=utf-8";
  unicode.data = to_bytes("καλημέρα\n");
  auto no_data = minimal_event();
  no_data.extensions = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};

  for (const cloud_event& e : {full_event(), binary_data, unicode, no_data}) {
    // binary -> structured -> binary
    const auto b = encode_binary(e);
    auto from_b = decode(b.props, b.payload);
    ASSERT_TRUE(from_b) << from_b.error().message;
    EXPECT_EQ(from_b->event, e);
    const auto s = encode_structured(from_b->event);
    auto from_s = decode(s.props, s.payload);
    ASSERT_TRUE(from_s) << from_s.error().message;
    EXPECT_EQ(from_s->event, e);
    const auto b2 = encode_binary(from_s->event);
    EXPECT_EQ(b2.props, b.props);
    EXPECT_EQ(b2.payload, b.payload);
  }
}

TEST(PulsarBinding, EventWhoseDataIsAnEventGoesStructured) {
  auto e = minimal_event();
  e.datacontenttype = "application/cloudevents+json";
  e.data = to_bytes(R"({"specversion":"1.0","id":"inner","source":"/i","type":"t"})");
  e.has_data = true;
  const auto m = encode_binary(e);
  EXPECT_EQ(m.props.front().second, "application/cloudevents+json");
  auto d = decode(m.props, m.payload);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->event, e);
}

TEST(Synthesize, PlainMessage) {
  const properties props{{"content-type", "text/plain"}, {"app", "1"}};
  auto d = synthesize(props, as_bytes("hello"),
                      {.topic = "persistent://public/default/in",
                       .message_id = "12:34:-1:-1",
                       .time_ms = 1704164645678});
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->mode, content_mode::synthesized);
  EXPECT_EQ(d->event.id, "12:34:-1:-1");
  EXPECT_EQ(d->event.source, "persistent://public/default/in");
  EXPECT_EQ(d->event.type, "dev.shfn.message");
  EXPECT_EQ(d->event.time, "2024-01-02T03:04:05.678Z");
  EXPECT_EQ(d->event.datacontenttype, "text/plain");
  EXPECT_EQ(to_string(d->event.data), "hello");
  EXPECT_EQ(d->user_properties, (properties{{"app", "1"}}));
}

TEST(Synthesize, ConfiguredTypeCeOverridesAndErrors) {
  auto d = synthesize({{"ce_type", "com.example.order"}, {"ce_subject", "o-1"}}, {},
                      {.topic = "persistent://public/default/in",
                       .message_id = "1:2:0:-1",
                       .type = "com.example.default"});
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->event.type, "com.example.order");
  EXPECT_EQ(d->event.subject, "o-1");
  EXPECT_FALSE(d->event.time);
  EXPECT_FALSE(d->event.has_data);

  auto custom = synthesize({}, as_bytes("x"), {.topic = "t", .message_id = "1", .type = "my.type"});
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->event.type, "my.type");

  auto no_topic = synthesize({}, {}, {.message_id = "1"});
  ASSERT_FALSE(no_topic);
  EXPECT_EQ(no_topic.error().message, "missing required attribute \"source\"");
}

TEST(FromMessage, DecodesOrSynthesizes) {
  const synthesis s{.topic = "persistent://public/default/in", .message_id = "5:6:-1:-1"};
  auto plain = from_message({{"app", "1"}}, as_bytes("x"), s);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->mode, content_mode::synthesized);
  const auto m = encode_binary(full_event());
  auto event = from_message(m.props, m.payload, s);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->mode, content_mode::binary);
  EXPECT_EQ(event->event, full_event());
  // A message claiming to be an event but broken is an error, not synthesized over.
  EXPECT_FALSE(from_message({{"ce_specversion", "1.0"}}, {}, s));
  EXPECT_TRUE(is_cloud_event(m.props));
  EXPECT_FALSE(is_cloud_event({{"ce_type", "x"}}));
  EXPECT_FALSE(is_structured(m.props));
  EXPECT_TRUE(is_structured(encode_structured(full_event()).props));
  EXPECT_TRUE(is_structured({{"Content-Type", "application/cloudevents+json; charset=utf-8"}}));
  EXPECT_EQ(partition_key(full_event()), "customer-7");
  EXPECT_FALSE(partition_key(minimal_event()));
  EXPECT_EQ(to_string(content_mode::structured), "structured");
}

}  // namespace
}  // namespace shfn::event
