// A function's outputs as events: plain in, plain out; an event in, the same event out with the
// script's output as data, its attributes applied and the input topic in the history; a plain
// message becomes an event when the script sets an attribute.

#include "function/events.h"

#include <gtest/gtest.h>

#include "event/history.h"
#include "event/pulsar_binding.h"
#include "event/text.h"

namespace shfn::function {
namespace {

bytes b(std::string_view s) {
  return bytes(s.begin(), s.end());
}

std::string text(const bytes& v) {
  return std::string(v.begin(), v.end());
}

std::string prop(const client::property_list& props, const std::string& name) {
  for (const auto& [k, v] : props)
    if (k == name) return v;
  return "<unset>";
}

client::message plain_message() {
  client::message m;
  m.id = {.ledger = 4, .entry = 2, .partition = -1, .batch_index = -1};
  m.topic = "persistent://public/default/in";
  m.payload = b("hello");
  m.key = "k";
  m.publish_time = 1795240800000;  // 2026-11-21T06:00:00Z
  return m;
}

client::message binary_event() {
  client::message m = plain_message();
  m.properties = {{"ce_specversion", "1.0"},
                  {"ce_id", "e-1"},
                  {"ce_source", "/orders"},
                  {"ce_type", "com.example.order"},
                  {"content-type", "text/plain"},
                  {"ce_traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                  {"region", "eu"}};
  return m;
}

exec::outcome success(std::string_view out) {
  exec::outcome o;
  o.output = b(out);
  return o;
}

TEST(FunctionEvents, PlainInPlainOut) {
  std::vector<std::string> warnings;
  exec::outcome o = success("olleh");
  o.metadata.properties = {{"p", "1"}};
  const auto out = output_message(plain_message(), o, warnings);
  EXPECT_EQ(text(out.payload), "olleh");
  EXPECT_EQ(out.key, "k");
  EXPECT_EQ(out.properties, (client::property_list{{"p", "1"}}));
  EXPECT_TRUE(warnings.empty());
}

TEST(FunctionEvents, AnEventInIsTheSameEventOutWithNewDataAndHistory) {
  std::vector<std::string> warnings;
  exec::outcome o = success("olleh");
  o.metadata.properties = {{"p", "1"}};
  const auto out = output_message(binary_event(), o, warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(text(out.payload), "olleh");  // binary mode: the payload is the data
  EXPECT_EQ(prop(out.properties, "ce_id"), "e-1");
  EXPECT_EQ(prop(out.properties, "ce_type"), "com.example.order");
  EXPECT_EQ(prop(out.properties, "content-type"), "text/plain");
  EXPECT_EQ(prop(out.properties, "ce_traceparent"),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(prop(out.properties, "ce_shfnhistory"), "persistent://public/default/in");
  EXPECT_EQ(prop(out.properties, "p"), "1");
  // The input's own user properties are not carried over (a plain function's never were).
  EXPECT_EQ(prop(out.properties, "region"), "<unset>");
}

TEST(FunctionEvents, TheScriptSetsAttributesAndBadOnesAreWarnings) {
  std::vector<std::string> warnings;
  exec::outcome o = success("{}");
  o.metadata.attributes = {{"type", "com.example.done"}, {"time", "yesterday"}, {"id", ""}};
  const auto out = output_message(binary_event(), o, warnings);
  EXPECT_EQ(prop(out.properties, "ce_type"), "com.example.done");
  EXPECT_EQ(prop(out.properties, "ce_id"), "e-1");
  EXPECT_EQ(prop(out.properties, "ce_time"), "<unset>");
  ASSERT_EQ(warnings.size(), 2u);
}

TEST(FunctionEvents, APlainMessageBecomesAnEventWhenTheScriptSetsAnAttribute) {
  std::vector<std::string> warnings;
  exec::outcome o = success("olleh");
  o.metadata.attributes = {{"type", "com.example.reversed"}};
  const auto out = output_message(plain_message(), o, warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(prop(out.properties, "ce_specversion"), "1.0");
  EXPECT_EQ(prop(out.properties, "ce_id"), "4:2:-1:-1");
  EXPECT_EQ(prop(out.properties, "ce_source"), "persistent://public/default/in");
  EXPECT_EQ(prop(out.properties, "ce_type"), "com.example.reversed");
  EXPECT_EQ(prop(out.properties, "ce_time"), "2026-11-21T06:00:00.000Z");
  EXPECT_EQ(text(out.payload), "olleh");
}

TEST(FunctionEvents, StructuredInStructuredOut) {
  client::message m = plain_message();
  m.properties = {{"content-type", "application/cloudevents+json"}};
  m.payload = b(R"({"specversion":"1.0","id":"s-1","source":"/s","type":"t",)"
                R"("datacontenttype":"application/json","data":{"n":1}})");
  std::vector<std::string> warnings;
  exec::outcome o = success(R"({"n":2})");
  const auto out = output_message(m, o, warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(prop(out.properties, "content-type"), "application/cloudevents+json");
  const auto json = nlohmann::json::parse(text(out.payload));
  EXPECT_EQ(json["id"], "s-1");
  EXPECT_EQ(json["data"], nlohmann::json({{"n", 2}}));
  EXPECT_EQ(json["shfnhistory"], "persistent://public/default/in");
}

TEST(FunctionEvents, AStructuredEventsScriptReadsItsData) {
  client::message m = plain_message();
  m.properties = {{"content-type", "application/cloudevents+json"}};
  m.payload = b(R"({"specversion":"1.0","id":"s-1","source":"/s","type":"t",)"
                R"("datacontenttype":"text/plain","data":"hi"})");
  const auto data = structured_data(m);
  ASSERT_TRUE(data);
  EXPECT_EQ(text(*data), "hi");
  EXPECT_FALSE(structured_data(binary_event()));  // binary mode: the payload is the data
  EXPECT_FALSE(structured_data(plain_message()));
}

TEST(FunctionEvents, AnInvalidEventInIsAWarningAndAPlainOutput) {
  client::message m = binary_event();
  m.properties.erase(m.properties.begin() + 2);  // no ce_source
  std::vector<std::string> warnings;
  exec::outcome o = success("x");
  const auto out = output_message(m, o, warnings);
  EXPECT_EQ(text(out.payload), "x");
  EXPECT_EQ(prop(out.properties, "ce_id"), "<unset>");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("source"), std::string::npos) << warnings[0];
}

TEST(FunctionEvents, ScriptsSeeTheAttributesOfTheEventOrTheSynthesizedOne) {
  std::vector<std::string> warnings;
  auto env = event_environment(binary_event(), warnings);
  auto has = [&](const std::string& name, const std::string& value) {
    for (const auto& [k, v] : env)
      if (k == name) return v == value;
    return false;
  };
  EXPECT_TRUE(has("SHFN_CE_TYPE", "com.example.order"));
  EXPECT_TRUE(has("SHFN_CE_DATACONTENTTYPE", "text/plain"));
  env = event_environment(plain_message(), warnings);
  EXPECT_TRUE(has("SHFN_CE_ID", "4:2:-1:-1"));
  EXPECT_TRUE(has("SHFN_CE_SOURCE", "persistent://public/default/in"));
  EXPECT_TRUE(has("SHFN_CE_TYPE", "dev.shfn.message"));
  EXPECT_TRUE(warnings.empty());
}

// The messages a flow stage publishes: its step's reply event, and dead letters carrying
// Knative's error extensions.

event::cloud_event decoded(const client::outgoing_message& out) {
  auto d = event::decode(out.properties, out.payload);
  EXPECT_TRUE(d) << d.error().to_string();
  return d ? d->event : event::cloud_event{};
}

TEST(StageMessages, ReplyKeepsKeyAndUserPropertiesAndAppendsHistory) {
  const client::message in = binary_event();
  event::cloud_event reply;
  reply.id = "r-1";
  reply.source = "/replies";
  reply.type = "com.example.reply";
  const auto out = reply_message(in, reply);
  EXPECT_EQ(out.key, "k");
  EXPECT_EQ(prop(out.properties, "region"), "eu");
  const auto e = decoded(out);
  EXPECT_EQ(e.id, "r-1");
  EXPECT_EQ(event::history(e), std::vector<std::string>{in.topic});
}

TEST(StageMessages, DeadLetterCarriesKnativeErrorExtensions) {
  const auto out = with_knative_error(
      binary_event(), {.destination = "http://127.0.0.1:1/hook", .code = 503, .data = "busy"});
  const auto e = decoded(out);
  EXPECT_EQ(e.id, "e-1");  // the event as it was, plus the error
  EXPECT_EQ(event::attribute(e, "knativeerrordest"), "http://127.0.0.1:1/hook");
  EXPECT_EQ(event::attribute(e, "knativeerrorcode"), "503");
  EXPECT_EQ(event::attribute(e, "knativeerrordata"), event::base64_encode(as_bytes("busy")));
  EXPECT_EQ(text(e.data), "hello");

  // A plain message becomes an event (synthesized) so that it can carry them.
  const auto parked =
      decoded(with_knative_error(plain_message(), {.destination = "shfn:s", .code = 3}));
  EXPECT_EQ(event::attribute(parked, "knativeerrorcode"), "3");
  EXPECT_FALSE(event::attribute(parked, "knativeerrordata"));  // nothing to say: no extension
}

}  // namespace
}  // namespace shfn::function
