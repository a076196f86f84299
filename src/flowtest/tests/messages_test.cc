#include "flowtest/messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "event/json_format.h"
#include "event/pulsar_binding.h"

namespace shfn::flowtest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The expectations of a small test file's one case, for judging.
test_case case_of(std::string_view expect_yaml) {
  const std::string yaml =
      "spec: s.yaml\ntests:\n  - name: c\n    expect:\n" + std::string(expect_yaml);
  auto r = parse_test_file(yaml, "t.yaml", "/");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().front().to_string());
  return r ? r->cases.at(0) : test_case{};
}

message plain(std::string payload, std::optional<std::string> key = {}, property_list props = {}) {
  return message{.payload = bytes(payload.begin(), payload.end()),
                 .key = std::move(key),
                 .properties = std::move(props)};
}

message event_message(std::string type, std::string data, bool structured = false) {
  event::cloud_event e{.id = "1", .source = "/src", .type = std::move(type)};
  e.datacontenttype = "application/json";
  e.data = bytes(data.begin(), data.end());
  e.has_data = true;
  auto parts = structured ? event::encode_structured(e) : event::encode_binary(e);
  return message{.payload = parts.payload, .properties = parts.props};
}

std::vector<std::string> differences_of(const expected_message& e, const message& m) {
  std::vector<std::string> out;
  for (const auto& d : compare(e, m)) out.push_back(d.what + "|" + d.expected + "|" + d.got);
  return out;
}

TEST(SendMessage, AnEventInBinaryModeWithAFreshId) {
  auto c = case_of(R"(      - {topic: b, payloads: []}
    send:
      - topic: a
        event: {type: ping, source: /me, data: {n: 1}}
        key: k
        properties: {user: u}
)");
  auto m = message_for(c.sends.at(0), "fresh-1");
  EXPECT_EQ(m.key, "k");
  auto d = event::decode(m.properties, m.payload);
  ASSERT_TRUE(d.has_value()) << d.error().to_string();
  EXPECT_EQ(d->mode, event::content_mode::binary);
  EXPECT_EQ(d->event.id, "fresh-1");
  EXPECT_EQ(d->event.type, "ping");
  EXPECT_EQ(d->event.source, "/me");
  EXPECT_EQ(std::string(as_chars(d->event.data)), R"({"n":1})");
  EXPECT_EQ(d->user_properties, (property_list{{"user", "u"}}));
}

TEST(SendMessage, StructuredModeAndAGivenId) {
  auto c = case_of(R"(      - {topic: b, payloads: []}
    send:
      - {topic: a, structured: true, event: {id: fixed, type: t, data: hi}}
      - {topic: a, payload: hello, properties: {p: v}}
)");
  auto m = message_for(c.sends.at(0), "fresh");
  auto d = event::decode(m.properties, m.payload);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->mode, event::content_mode::structured);
  EXPECT_EQ(d->event.id, "fixed");
  EXPECT_EQ(std::string(as_chars(d->event.data)), "hi");

  auto p = message_for(c.sends.at(1), "fresh");
  EXPECT_EQ(std::string(as_chars(p.payload)), "hello");
  EXPECT_EQ(p.properties, (property_list{{"p", "v"}}));
  EXPECT_FALSE(p.key.has_value());
}

TEST(CompareMessage, ListedAttributesOnlyAndDataAsJson) {
  auto c = case_of(R"(      - topic: b
        events:
          - {type: even, data: {message: we are even!, n: 2}}
)");
  const auto& want = c.expects[0].messages[0];
  // Other attributes (id, source) may be anything; JSON spacing and key order do not matter.
  EXPECT_TRUE(
      compare(want, event_message("even", R"({ "n": 2, "message": "we are even!" })")).empty());
  EXPECT_TRUE(
      compare(want, event_message("even", R"({"message":"we are even!","n":2})", true)).empty());
  EXPECT_THAT(
      differences_of(want, event_message("odd", R"({"message":"we are odd!","n":2})")),
      ElementsAre(R"(type|"even"|"odd")",
                  R"(data|{"message":"we are even!","n":2}|{"message":"we are odd!","n":2})"));
}

TEST(CompareMessage, MissingAttributesAndNoEventAtAll) {
  auto c = case_of(R"(      - topic: b
        events: [{subject: s, myext: x}]
)");
  const auto& want = c.expects[0].messages[0];
  EXPECT_THAT(differences_of(want, event_message("t", "{}")),
              ElementsAre(R"(subject|"s"|not set)", R"(myext|"x"|not set)"));
  auto diffs = compare(want, plain("hello"));
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].what, "event");
  EXPECT_THAT(diffs[0].got, HasSubstr("a plain message"));
  EXPECT_THAT(diffs[0].got, HasSubstr(R"("hello")"));
}

TEST(CompareMessage, TextPayloadsExactlyUnlessTheyAreJsonObjects) {
  auto c = case_of(R"(      - topic: b
        payloads: [olleh, '{"a": 1}', "1.0", 1]
)");
  const auto& m = c.expects[0].messages;
  EXPECT_TRUE(compare(m[0], plain("olleh")).empty());
  EXPECT_THAT(differences_of(m[0], plain("olleh\n")), ElementsAre(R"(payload|"olleh"|"olleh\n")"));
  EXPECT_TRUE(compare(m[1], plain(R"({"a":1})")).empty());
  // A scalar written as a string is compared as text: "1.0" is not "1".
  EXPECT_FALSE(compare(m[2], plain("1")).empty());
  // Written as a YAML number, it is JSON: 1 matches 1 however it is spelled.
  EXPECT_TRUE(compare(m[3], plain(" 1 ")).empty());
  EXPECT_FALSE(compare(m[3], plain("one")).empty());
}

TEST(CompareMessage, KeyAndProperties) {
  auto c = case_of(R"(      - topic: b
        messages:
          - {payload: x, key: ann, properties: {version: "2"}}
)");
  const auto& want = c.expects[0].messages[0];
  EXPECT_TRUE(compare(want, plain("x", "ann", {{"version", "2"}, {"other", "o"}})).empty());
  EXPECT_THAT(differences_of(want, plain("x", std::nullopt, {{"version", "1"}})),
              ElementsAre(R"(key|"ann"|no key)", R"(property "version"|"2"|"1")"));
  EXPECT_THAT(differences_of(want, plain("x", "ann")),
              ElementsAre(R"(property "version"|"2"|not set)"));
}

TEST(JudgeTopic, InOrderAllThere) {
  auto c = case_of("      - {topic: b, payloads: [a, b]}\n");
  auto v = judge(c.expects[0], {plain("a"), plain("b")}, std::chrono::seconds(1));
  EXPECT_TRUE(v.ok);
  EXPECT_TRUE(v.lines.empty());
}

TEST(JudgeTopic, WrongOrderIsSaidSo) {
  auto c = case_of("      - {topic: b, payloads: [a, b, c]}\n");
  auto v = judge(c.expects[0], {plain("b"), plain("a"), plain("c")}, std::chrono::seconds(1));
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.lines,
              ElementsAre("persistent://public/default/b: expected 3 messages, 3 arrived",
                          HasSubstr("arrived, but in another order: expected messages 2, 1, 3")));
  c.expects[0].ordered = false;
  EXPECT_TRUE(
      judge(c.expects[0], {plain("b"), plain("a"), plain("c")}, std::chrono::seconds(1)).ok);
}

TEST(JudgeTopic, MissingWrongAndExtraMessages) {
  auto c = case_of("      - {topic: b, payloads: [a, b, c]}\n");
  auto v = judge(c.expects[0], {plain("a"), plain("x")}, std::chrono::seconds(10));
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.lines, ElementsAre("persistent://public/default/b: expected 3 messages, 2 arrived",
                                   "  message 2 (t.yaml:5:34):", "    payload:",
                                   R"(      expected: "b")", R"(      got:      "x")",
                                   "  message 3 (t.yaml:5:37): nothing arrived within 10s",
                                   R"(    expected: payload "c")"));

  auto extra = judge(c.expects[0], {plain("a"), plain("b"), plain("c"), plain("c")},
                     std::chrono::seconds(1));
  EXPECT_THAT(extra.lines,
              ElementsAre("persistent://public/default/b: expected 3 messages, 4 arrived",
                          R"(  unexpected message (arrived #4): payload "c")"));
}

TEST(JudgeTopic, NothingExpectedNothingMayArrive) {
  auto c = case_of("      - {topic: b, events: []}\n");
  EXPECT_TRUE(judge(c.expects[0], {}, std::chrono::seconds(1)).ok);
  auto v = judge(c.expects[0], {event_message("t", R"({"a":1})")}, std::chrono::seconds(1));
  EXPECT_THAT(v.lines, ElementsAre(HasSubstr("expected 0 messages, 1 arrived"),
                                   HasSubstr(R"(event type="t" source="/src" data={"a":1})")));
}

TEST(JudgeTopic, AnyOrderShowsTheClosestMessage) {
  auto c = case_of(R"(      - topic: b
        ordered: false
        events: [{type: odd}, {type: even, subject: two}]
)");
  auto ev = event_message("even", "{}");
  auto v = judge(c.expects[0], {ev, event_message("odd", "{}")}, std::chrono::seconds(1));
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.lines,
              ElementsAre(HasSubstr("expected 2 messages, 2 arrived"),
                          HasSubstr("message 2 (t.yaml:7:31): no message like it "
                                    "arrived; the closest (arrived #1):"),
                          "    subject:", R"(      expected: "two")", "      got:      not set"));
}

TEST(JudgeTopic, AnyOrderNeedsAFullMatchingNotAGreedyOne) {
  // Expected 1 fits both messages, expected 2 only the first: a greedy pairing would fail.
  auto c = case_of(R"(      - topic: b
        ordered: false
        events: [{type: t}, {type: t, subject: s}]
)");
  event::cloud_event e{.id = "1", .source = "/s", .type = "t"};
  e.subject = "s";
  auto with_subject = event::encode_binary(e);
  const message first{.payload = with_subject.payload, .properties = with_subject.props};
  EXPECT_TRUE(judge(c.expects[0], {first, event_message("t", "{}")}, std::chrono::seconds(1)).ok);
}

TEST(TestDurationFormat, AsTestFilesWriteThem) {
  EXPECT_EQ(format_duration(std::chrono::seconds(10)), "10s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(500)), "500ms");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(std::chrono::minutes(2)), "2m");
}

}  // namespace
}  // namespace shfn::flowtest
