#include "flowtest/test_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "base/temp_dir.h"
#include "config/spec.h"

namespace shfn::flowtest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

load_result parse(std::string_view yaml) {
  return parse_test_file(yaml, "t.test.yaml", "/base");
}

// Every error of a file that must not load, in its one-line form.
std::vector<std::string> errors_of(std::string_view yaml) {
  auto r = parse(yaml);
  EXPECT_FALSE(r.has_value()) << "the file loaded";
  std::vector<std::string> out;
  if (!r)
    for (const auto& e : r.error()) out.push_back(e.to_string());
  return out;
}

constexpr std::string_view full_file = R"(spec: flows/odd-even.yaml
timeout: 3s
tests:
  - name: even
    send:
      - to: odd-even
        event:
          type: dev.knative.sources.ping
          time: "2026-01-01T00:02:00Z"
          myext: x
          data: {message: "Even or odd?"}
      - topic: plain-in
        payload: hello
        key: k
        properties: {a: "1", b: 2}
    expect:
      - topic: odd-even-reply
        events:
          - type: dev.example.even
            data: {message: we are even!}
      - from: reverse
        ordered: false
        payloads: ["olleh", {x: 1}]
      - topic: other
        messages:
          - key: k
            properties: {p: v}
            payload: abc
          - event: {type: t}
      - topic: quiet
        payloads: []
    settle: 100ms
)";

TEST(TestFileLoad, ReadsEveryField) {
  auto r = parse(full_file);
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  EXPECT_EQ(r->spec, "/base/flows/odd-even.yaml");
  ASSERT_EQ(r->cases.size(), 1u);
  const test_case& c = r->cases[0];
  EXPECT_EQ(c.name, "even");
  EXPECT_EQ(c.at.where.line, 4);
  EXPECT_EQ(c.timeout, std::chrono::seconds(3));  // the file's default
  EXPECT_EQ(c.settle, std::chrono::milliseconds(100));

  ASSERT_EQ(c.sends.size(), 2u);
  const send_step& ping = c.sends[0];
  EXPECT_EQ(ping.to, "odd-even");
  EXPECT_TRUE(ping.topic.empty());  // resolve() fills it
  EXPECT_EQ(ping.to_at.where.line, 6);
  ASSERT_TRUE(ping.event.has_value());
  EXPECT_EQ(ping.event->type, "dev.knative.sources.ping");
  EXPECT_EQ(ping.event->source, "/shfn/test");  // the default
  EXPECT_TRUE(ping.event->id.empty());          // a fresh one per send
  EXPECT_EQ(ping.event->time, "2026-01-01T00:02:00Z");
  EXPECT_EQ(ping.event->datacontenttype, "application/json");
  EXPECT_EQ(std::string(as_chars(ping.event->data)), R"({"message":"Even or odd?"})");
  EXPECT_EQ(ping.event->extensions, (event::attribute_list{{"myext", "x"}}));

  const send_step& plain = c.sends[1];
  EXPECT_EQ(plain.topic, "persistent://public/default/plain-in");
  EXPECT_FALSE(plain.event.has_value());
  EXPECT_EQ(std::string(as_chars(plain.payload)), "hello");
  EXPECT_EQ(plain.key, "k");
  EXPECT_EQ(plain.properties, (property_list{{"a", "1"}, {"b", "2"}}));

  ASSERT_EQ(c.expects.size(), 4u);
  const auto& reply = c.expects[0];
  EXPECT_EQ(reply.topic, "persistent://public/default/odd-even-reply");
  EXPECT_TRUE(reply.ordered);
  ASSERT_EQ(reply.messages.size(), 1u);
  EXPECT_TRUE(reply.messages[0].is_event);
  EXPECT_EQ(reply.messages[0].attributes, (property_list{{"type", "dev.example.even"}}));
  ASSERT_TRUE(reply.messages[0].data.has_value());
  EXPECT_EQ(reply.messages[0].data->type, expected_body::kind::json);
  EXPECT_EQ(reply.messages[0].data->json, nlohmann::json({{"message", "we are even!"}}));

  const auto& reverse = c.expects[1];
  EXPECT_EQ(reverse.from, "reverse");
  EXPECT_FALSE(reverse.ordered);
  ASSERT_EQ(reverse.messages.size(), 2u);
  EXPECT_FALSE(reverse.messages[0].is_event);
  EXPECT_EQ(reverse.messages[0].data->type, expected_body::kind::text);
  EXPECT_EQ(reverse.messages[0].data->text, "olleh");
  EXPECT_EQ(reverse.messages[1].data->type, expected_body::kind::json);

  const auto& other = c.expects[2];
  ASSERT_EQ(other.messages.size(), 2u);
  EXPECT_EQ(other.messages[0].key, "k");
  EXPECT_EQ(other.messages[0].properties, (property_list{{"p", "v"}}));
  EXPECT_EQ(other.messages[0].data->text, "abc");
  EXPECT_TRUE(other.messages[1].is_event);
  EXPECT_EQ(other.messages[1].at.where.line, 29);

  EXPECT_TRUE(c.expects[3].messages.empty());  // nothing may arrive
}

TEST(TestFileLoad, StringDataKeepsItsBytesAndGetsAContentType) {
  auto r = parse(R"(spec: s.yaml
tests:
  - name: a
    send:
      - {topic: a, event: {type: t, data: hello}}
      - {topic: a, event: {type: t, data: '{"a": 1}'}}
      - {topic: a, event: {type: t, datacontenttype: text/csv, data: "1,2"}, structured: true}
      - {topic: a, payload: {a: [1, 2]}}
    expect: [{topic: b, payloads: []}]
)");
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  const auto& s = r->cases[0].sends;
  EXPECT_EQ(std::string(as_chars(s[0].event->data)), "hello");
  EXPECT_EQ(s[0].event->datacontenttype, "text/plain");
  EXPECT_EQ(std::string(as_chars(s[1].event->data)), R"({"a": 1})");
  EXPECT_EQ(s[1].event->datacontenttype, "application/json");
  EXPECT_EQ(s[2].event->datacontenttype, "text/csv");
  EXPECT_TRUE(s[2].structured);
  EXPECT_EQ(std::string(as_chars(s[3].payload)), R"({"a":[1,2]})");
}

TEST(TestFileLoad, CaseTimeoutsOverrideTheFileDefaults) {
  auto r = parse(R"(spec: s.yaml
settle: 0ms
tests:
  - {name: a, expect: [{topic: b, payloads: []}]}
  - {name: b, timeout: PT1.5S, settle: 2s, expect: [{topic: b, payloads: []}]}
)");
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  EXPECT_EQ(r->cases[0].timeout, std::chrono::seconds(10));
  EXPECT_EQ(r->cases[0].settle, std::chrono::milliseconds(0));
  EXPECT_EQ(r->cases[1].timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(r->cases[1].settle, std::chrono::seconds(2));
}

TEST(TestFileLoad, ErrorsNameLineColumnAndField) {
  EXPECT_THAT(errors_of(R"(spec: s.yaml
tests:
  - name: a
    sned: []
    expect:
      - topic: b
        payload: [x]
)"),
              ElementsAre("t.test.yaml:4:5: tests[0].sned: unknown field (did you mean \"send\"?)",
                          "t.test.yaml:6:9: tests[0].expect[0]: one of events, payloads or "
                          "messages is required (an empty list: nothing may arrive)",
                          "t.test.yaml:7:9: tests[0].expect[0].payload: unknown field (did you "
                          "mean \"payloads\"?)"));
}

TEST(TestFileLoad, EveryErrorOfTheFileInOnePass) {
  auto errors = errors_of(R"(tests:
  - name: a
    send:
      - {topic: a, to: b, payload: x}
      - {topic: "persistent://bad", payload: x}
      - {topic: a}
      - {topic: a, event: {type: t, time: yesterday}}
      - {topic: a, event: {type: t, Bad: x}}
      - {topic: a, payload: x, structured: true}
    expect: [{topic: b, payloads: []}]
    timeout: 10
  - name: a
    expect: []
)");
  EXPECT_THAT(
      errors,
      ElementsAre(
          "t.test.yaml:1:1: spec: required field is missing",
          "t.test.yaml:4:9: tests[0].send[0]: give either topic or to, not both",
          HasSubstr("t.test.yaml:5:17: tests[0].send[1].topic: invalid topic name"),
          "t.test.yaml:6:9: tests[0].send[2]: one of event or payload is required: what to send",
          AllOf(HasSubstr("t.test.yaml:7:27: tests[0].send[3].event: not a valid CloudEvent:"),
                HasSubstr("time")),
          HasSubstr("t.test.yaml:8:37: tests[0].send[4].event.Bad: "),
          "t.test.yaml:9:44: tests[0].send[5].structured: only an event can be sent in "
          "structured mode",
          "t.test.yaml:11:14: tests[0].timeout: invalid duration \"10\": expected a number and "
          "a unit (ms, s or m), e.g. 10s or 500ms",
          "t.test.yaml:13:13: tests[1].expect: must list at least one topic"));
}

TEST(TestFileLoad, DuplicateTestNamesAreErrors) {
  EXPECT_THAT(errors_of(R"(spec: s.yaml
tests:
  - {name: a, expect: [{topic: b, payloads: []}]}
  - {name: a, expect: [{topic: b, payloads: []}]}
)"),
              ElementsAre("t.test.yaml:4:12: tests[1].name: duplicate test name \"a\" (first used "
                          "at line 3)"));
}

TEST(TestFileLoad, SyntaxErrorsPointAtTheirPlace) {
  auto errors = errors_of("spec: s.yaml\ntests: [\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("t.test.yaml:3:1: YAML syntax error"));
}

TEST(TestFileLoad, NotAMapping) {
  EXPECT_THAT(errors_of("- a\n"),
              ElementsAre("t.test.yaml:1:1: expected a mapping with spec and tests, got a list"));
}

TEST(TestFileLoad, LoadsFromDiskRelativeToItsDirectory) {
  const temp_dir dir("flowtest");
  std::ofstream(dir / "x.test.yaml") << "spec: ../specs/x.yaml\n"
                                        "tests: [{name: a, expect: [{topic: b, payloads: []}]}]\n";
  auto r = load_test_file((dir / "x.test.yaml").string());
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  EXPECT_EQ(r->spec, (dir.path().parent_path() / "specs/x.yaml").string());

  auto missing = load_test_file((dir / "nope.yaml").string());
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().front().to_string(), HasSubstr("nope.yaml: cannot read"));
}

TEST(TestFileDuration, TestFileSpellings) {
  EXPECT_EQ(parse_test_duration("10s"), std::chrono::seconds(10));
  EXPECT_EQ(parse_test_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_test_duration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(parse_test_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(parse_test_duration("PT0.25S"), std::chrono::milliseconds(250));
  EXPECT_FALSE(parse_test_duration("10"));
  EXPECT_FALSE(parse_test_duration("s"));
  EXPECT_FALSE(parse_test_duration("1h"));
  EXPECT_FALSE(parse_test_duration("-1s"));
  EXPECT_FALSE(parse_test_duration("2d"));
}

// ---- resolve ----

constexpr std::string_view spec_yaml = R"(kind: Function
metadata: {name: reverse}
spec: {command: rev, inputs: [reverse-in], output: reverse-out}
---
kind: Function
metadata: {name: sink-only}
spec: {command: cat, inputs: [sink-in]}
---
kind: Function
metadata: {name: step-only}
spec: {command: cat}
---
kind: Parallel
metadata: {name: odd-even}
spec:
  branches: [{subscriber: {ref: {name: step-only}}}]
  reply: {topic: odd-even-reply}
---
kind: Sequence
metadata: {name: shown}
spec:
  steps: [{ref: {name: step-only}}]
  reply: {builtin: display}
---
kind: Function
metadata: {name: by-pattern}
spec: {command: cat, topicsPattern: "orders-.*"}
---
kind: Parallel
metadata: {name: silent}
spec:
  branches: [{subscriber: {ref: {name: step-only}}}]
---
kind: PingSource
metadata: {name: ping}
spec: {schedule: "* * * * *", sink: {ref: {kind: Parallel, name: odd-even}}}
)";

config::spec_file load_spec() {
  auto s = config::load_string(spec_yaml, "s.yaml", "/base");
  EXPECT_TRUE(s.has_value()) << s.error().front().to_string();
  return *s;
}

TEST(TestFileResolve, NamesBecomeTopics) {
  auto t = parse(R"(spec: s.yaml
tests:
  - name: a
    send:
      - {to: reverse, payload: x}
      - {to: odd-even, payload: x}
      - {to: shown, payload: x}
    expect:
      - {from: reverse, payloads: []}
      - {from: odd-even, payloads: []}
      - {from: ping, payloads: []}
      - {from: shown, payloads: []}
)");
  ASSERT_TRUE(t.has_value()) << t.error().front().to_string();
  const auto spec = load_spec();
  EXPECT_TRUE(resolve(*t, spec).empty());
  const auto& c = t->cases[0];
  EXPECT_EQ(c.sends[0].topic, "persistent://public/default/reverse-in");
  EXPECT_EQ(c.sends[1].topic, "persistent://public/default/odd-even");
  EXPECT_EQ(c.sends[2].topic, "persistent://public/default/shown");
  EXPECT_EQ(c.expects[0].topic, "persistent://public/default/reverse-out");
  EXPECT_EQ(c.expects[1].topic, "persistent://public/default/odd-even-reply");
  EXPECT_EQ(c.expects[2].topic, "persistent://public/default/odd-even");
  // A display reply is fed through a channel of its own: that is where a test sees it.
  EXPECT_EQ(c.expects[3].topic, "persistent://public/default/shown-reply");
}

TEST(TestFileResolve, NamesThatDoNotFitAreErrorsAtTheirPlace) {
  auto t = parse(R"(spec: s.yaml
tests:
  - name: a
    send:
      - {to: revers, payload: x}
      - {to: step-only, payload: x}
      - {to: ping, payload: x}
    expect:
      - {from: sink-only, payloads: []}
      - {from: silent, payloads: []}
      - {topic: reverse-out, payloads: []}
      - {from: reverse, payloads: []}
)");
  ASSERT_TRUE(t.has_value()) << t.error().front().to_string();
  const auto spec = load_spec();
  std::vector<std::string> errors;
  for (const auto& e : resolve(*t, spec)) errors.push_back(e.to_string());
  EXPECT_THAT(
      errors,
      ElementsAre(
          "t.test.yaml:5:14: tests[0].send[0].to: no Function, Parallel, Sequence or cron source "
          "named \"revers\" in s.yaml (did you mean \"reverse\"?)",
          HasSubstr("t.test.yaml:6:14: tests[0].send[1].to: Function \"step-only\" has no inputs"),
          "t.test.yaml:7:14: tests[0].send[2].to: \"ping\" is a cron source, which cannot receive",
          "t.test.yaml:9:16: tests[0].expect[0].from: Function \"sink-only\" has no output",
          HasSubstr("t.test.yaml:10:16: tests[0].expect[1].from: Parallel \"silent\" has no "
                    "reply"),
          HasSubstr("t.test.yaml:12:9: tests[0].expect[3]: persistent://public/default/reverse-out "
                    "is expected twice in this test (first at line 11)")));
}

TEST(TestFileResolve, AFunctionOnAPatternTakesATopic) {
  auto t = parse(R"(spec: s.yaml
tests:
  - name: a
    send: [{to: by-pattern, payload: x}]
    expect: [{topic: b, payloads: []}]
)");
  ASSERT_TRUE(t.has_value());
  const auto spec = load_spec();
  auto errors = resolve(*t, spec);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].to_string(),
            "t.test.yaml:4:17: tests[0].send[0].to: Function \"by-pattern\" reads the topics "
            "matching orders-.*: send to one of them with topic:");
}

}  // namespace
}  // namespace shfn::flowtest
