// A spec file compiled into stages: the topics each stage reads and writes (so that a Parallel's
// branches each see every event, a Sequence chains, and replies reach their sinks), what each
// stage runs, and how the flow's delivery becomes the stage's retries and dead letters.

#include "flow/plan.h"

#include <gtest/gtest.h>

#include <set>

#include "config/spec.h"

namespace shfn::flow {
namespace {

constexpr std::string_view ns = "persistent://public/default/";

std::string t(std::string_view local) {
  return std::string(ns) + std::string(local);
}

config::spec_file load(std::string_view yaml) {
  auto r = config::load_string(yaml, "flows.yaml", "/tmp");
  if (!r) {
    for (const auto& e : r.error()) ADD_FAILURE() << e.to_string();
    return {};
  }
  return std::move(*r);
}

const stage* find(const plan& p, std::string_view name) {
  for (const auto& s : p.stages)
    if (s.spec.name == name) return &s;
  ADD_FAILURE() << "no stage " << name;
  return nullptr;
}

std::vector<std::string> names(const plan& p) {
  std::vector<std::string> out;
  for (const auto& s : p.stages) out.push_back(s.spec.name);
  return out;
}

constexpr std::string_view functions = R"(kind: Function
metadata: {name: even}
spec:
  command: cat
  parallelism: 3
  env: {PARITY: even}
---
kind: Function
metadata: {name: standalone}
spec:
  command: cat
  inputs: [in]
  output: out
---
)";

TEST(Plan, ParallelBranchesReadTheIngressAndShareTheReplySink) {
  const auto file = load(std::string(functions) + R"(kind: Parallel
metadata: {name: p}
spec:
  branches:
    - filter: {ref: {name: even}}
      subscriber: {command: "echo even"}
    - subscriber: {ref: {name: even}}
      reply: {topic: branch-1-out}
    - filter: {exact: {type: x}}
      subscriber: {command: cat}
  reply: {builtin: display}
)");
  std::vector<std::string> printed;
  const auto p = make_plan(file, {.print = [&](const std::string& s) { printed.push_back(s); }});
  EXPECT_EQ(names(p),
            (std::vector<std::string>{"standalone", "p-branch-0-filter", "p-branch-0-subscriber",
                                      "p-branch-1-filter", "p-branch-1-subscriber",
                                      "p-branch-2-filter", "p-branch-2-subscriber", "p-reply"}));

  const stage* filter = find(p, "p-branch-0-filter");
  ASSERT_NE(filter, nullptr);
  EXPECT_EQ(filter->spec.inputs, std::vector<std::string>{t("p")});
  EXPECT_EQ(filter->spec.output, t("p-branch-0"));
  EXPECT_EQ(filter->spec.subscription_name, "p-branch-0-filter");  // its own: sees every event
  EXPECT_EQ(filter->spec.argv, (std::vector<std::string>{"bash", "-c", "cat", "even"}));
  EXPECT_EQ(filter->spec.parallelism, 3);  // the referenced function's
  EXPECT_EQ(filter->spec.env.at(0).second, "even");
  EXPECT_EQ(filter->options.step, nullptr);  // a process
  EXPECT_TRUE(filter->options.always_event);
  EXPECT_EQ(filter->flow, "p");

  const stage* sub0 = find(p, "p-branch-0-subscriber");
  ASSERT_NE(sub0, nullptr);
  EXPECT_EQ(sub0->spec.inputs, std::vector<std::string>{t("p-branch-0")});
  EXPECT_EQ(sub0->spec.output, t("p-reply"));  // the global reply, a display: through a topic
  EXPECT_EQ(sub0->spec.working_dir, "/tmp");

  const stage* display = find(p, "p-reply");
  ASSERT_NE(display, nullptr);
  EXPECT_EQ(display->spec.inputs, std::vector<std::string>{t("p-reply")});
  EXPECT_EQ(display->spec.output, "");
  ASSERT_NE(display->options.step, nullptr);

  // No filter: a built-in pass-all filter still feeds the branch's own channel.
  const stage* pass = find(p, "p-branch-1-filter");
  ASSERT_NE(pass, nullptr);
  EXPECT_NE(pass->options.step, nullptr);
  EXPECT_EQ(pass->spec.output, t("p-branch-1"));
  EXPECT_EQ(find(p, "p-branch-1-subscriber")->spec.output, t("branch-1-out"));
  EXPECT_EQ(find(p, "p-branch-2-subscriber")->spec.output, t("p-reply"));
  EXPECT_NE(find(p, "p-branch-2-filter")->options.step, nullptr);  // attribute filter
}

TEST(Plan, SequenceStepsChainThroughTopicsToTheReply) {
  const auto file = load(R"(kind: Sequence
metadata: {name: s}
spec:
  channelTemplate: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel}
  steps:
    - command: "tr a-z A-Z"
      delivery: {retry: 5, backoffPolicy: linear, backoffDelay: PT0.5S, timeout: PT2S}
    - uri: http://127.0.0.1:9/hook
    - command: rev
  reply: {topic: done}
)");
  const auto p = make_plan(file);
  EXPECT_EQ(names(p), (std::vector<std::string>{"s-step-0", "s-step-1", "s-step-2"}));
  const std::string np = "non-persistent://public/default/";
  EXPECT_EQ(p.stages[0].spec.inputs, std::vector<std::string>{np + "s"});
  EXPECT_EQ(p.stages[0].spec.output, np + "s-step-1");
  EXPECT_EQ(p.stages[1].spec.output, np + "s-step-2");
  EXPECT_EQ(p.stages[2].spec.output, t("done"));
  EXPECT_EQ(p.stages[0].spec.max_message_retries, 5);
  EXPECT_EQ(p.stages[0].spec.timeout, std::chrono::seconds(2));
  EXPECT_TRUE(p.stages[0].options.linear_backoff);
  EXPECT_EQ(p.stages[0].options.backoff_delay, std::chrono::milliseconds(500));
  EXPECT_EQ(p.stages[1].options.error_destination, "http://127.0.0.1:9/hook");
  EXPECT_EQ(p.stages[0].options.error_destination, "shfn:s-step-0");
  EXPECT_NE(p.stages[1].options.step, nullptr);
  EXPECT_FALSE(p.stages[2].options.linear_backoff);
}

TEST(Plan, DeadLetterSinksAreTopicsOrSinkStages) {
  const auto file = load(R"(kind: Sequence
metadata: {name: s}
spec:
  steps:
    - command: cat
      delivery: {deadLetterSink: {topic: parked}}
    - command: cat
      delivery: {deadLetterSink: {uri: "http://127.0.0.1:9/dead"}}
    - command: cat
)");
  const auto p = make_plan(file);
  EXPECT_EQ(names(p),
            (std::vector<std::string>{"s-step-0", "s-step-1", "s-step-2", "s-step-1-dead-letter"}));
  EXPECT_EQ(p.stages[0].spec.dead_letter_topic, t("parked"));
  EXPECT_EQ(find(p, "s-step-1")->spec.dead_letter_topic, t("s-step-1-dead-letter"));
  const stage* dead = find(p, "s-step-1-dead-letter");
  ASSERT_NE(dead, nullptr);
  EXPECT_EQ(dead->spec.inputs, std::vector<std::string>{t("s-step-1-dead-letter")});
  EXPECT_EQ(dead->options.error_destination, "http://127.0.0.1:9/dead");
  // No deadLetterSink: the runtime's default (<input>-<subscription>-DLQ).
  EXPECT_EQ(find(p, "s-step-2")->spec.dead_letter_topic, "");
  EXPECT_EQ(find(p, "s-step-2")->spec.output, "");  // no reply: nowhere
}

TEST(Plan, CronSourcesSinkToTopics) {
  const auto file = load(R"(kind: Parallel
metadata: {name: p}
spec:
  branches:
    - subscriber: {command: cat}
---
kind: PingSource
metadata: {name: to-parallel}
spec:
  schedule: "* * * * *"
  sink: {ref: {kind: Parallel, name: p}}
---
kind: CronSource
metadata: {name: to-display}
spec:
  schedule: "@hourly"
  sink: {builtin: display}
)");
  const auto p = make_plan(file);
  ASSERT_EQ(p.sources.size(), 2u);
  EXPECT_EQ(sink_of(p.sources[0]).topic, t("p"));
  EXPECT_EQ(sink_of(p.sources[1]).topic, t("to-display-sink"));
  EXPECT_EQ(sink_of(p.sources[1]).type, config::sink_spec::kind::topic);
  const stage* display = find(p, "to-display-sink");
  ASSERT_NE(display, nullptr);
  EXPECT_EQ(display->spec.inputs, std::vector<std::string>{t("to-display-sink")});
}

// A Trigger is a filter stage on its Broker's topic and a subscriber stage whose replies go back
// into it; the ingress can reach the Broker, and the Parallel beside it.
TEST(Plan, TriggersFilterTheBrokersTopicAndReplyIntoIt) {
  const auto file = load(R"(kind: Broker
metadata: {name: b, namespace: shop}
spec:
  delivery: {retry: 5, deadLetterSink: {uri: "http://127.0.0.1:9/dead"}}
---
kind: Trigger
metadata: {name: big}
spec:
  broker: b
  filters: [{cesql: "INT(amount) > 100"}]
  subscriber: {command: cat}
---
kind: Parallel
metadata: {name: p}
spec:
  branches:
    - subscriber: {command: cat}
)");
  const auto p = make_plan(file);
  EXPECT_EQ(names(p),
            (std::vector<std::string>{"p-branch-0-filter", "p-branch-0-subscriber", "big-filter",
                                      "big-subscriber", "big-filter-dead-letter",
                                      "big-subscriber-dead-letter"}));
  const stage* filter = find(p, "big-filter");
  const stage* subscriber = find(p, "big-subscriber");
  ASSERT_TRUE(filter && subscriber);
  EXPECT_EQ(filter->spec.inputs, std::vector<std::string>{t("b")});
  EXPECT_EQ(filter->spec.output, t("b-trigger-big"));
  EXPECT_EQ(filter->step_definition, R"(filter {"cesql":"INT(amount) > 100"})");
  EXPECT_FALSE(filter->options.broker_reply);
  EXPECT_EQ(subscriber->spec.inputs, std::vector<std::string>{t("b-trigger-big")});
  EXPECT_EQ(subscriber->spec.output, t("b"));
  EXPECT_TRUE(subscriber->options.broker_reply);
  EXPECT_EQ(subscriber->spec.max_message_retries, 5);  // the Broker's delivery
  EXPECT_EQ(subscriber->flow, "big");
  EXPECT_EQ(p.routes, (std::vector<ingress_route>{{"shop", "b", "Broker", t("b")},
                                                  {"default", "p", "Parallel", t("p")}}));
}

// What an embedded broker must have for the plan to run: every topic's namespace, a pattern's
// too, and those of the dead letters, logs and sources' sinks.
TEST(Plan, NamesTheNamespacesItsTopicsLiveIn) {
  const auto file = load(R"(kind: Function
metadata: {name: f}
spec:
  command: cat
  inputs: [persistent://acme/orders/in]
  output: non-persistent://acme/live/out
  logTopic: persistent://ops/logs/f
  deadLetterTopic: persistent://ops/parked/f
---
kind: Function
metadata: {name: g}
spec:
  command: cat
  topicsPattern: "persistent://sensors/eu/temp-[0-9]+"
---
kind: CronSource
metadata: {name: tick}
spec:
  schedule: "@hourly"
  sink: {topic: persistent://clock/ticks/t}
)");
  using ns_set = std::set<std::pair<std::string, std::string>>;
  EXPECT_EQ(namespaces_of(make_plan(file)), (ns_set{{"acme", "live"},
                                                    {"acme", "orders"},
                                                    {"clock", "ticks"},
                                                    {"ops", "logs"},
                                                    {"ops", "parked"},
                                                    {"sensors", "eu"}}));
}

TEST(Plan, OnlyRunsTheNamedDocuments) {
  const auto file = load(std::string(functions) + R"(kind: Sequence
metadata: {name: s}
spec:
  steps:
    - ref: {name: even}
)");
  const auto p = make_plan(file, {.only = {"s"}});
  EXPECT_EQ(names(p), std::vector<std::string>{"s-step-0"});
  // The referenced function lends its command even though it is not selected.
  EXPECT_EQ(p.stages[0].spec.argv, (std::vector<std::string>{"bash", "-c", "cat", "even"}));
  EXPECT_EQ(names(make_plan(file, {.only = {"standalone"}})),
            std::vector<std::string>{"standalone"});
}

// What a reload compares: the same text gives the same stages wherever it sits in the file; a
// changed setting changes its own stage and only that.
TEST(Plan, StagesAreTheSameDefinitionUnlessASettingChanged) {
  constexpr std::string_view before = R"(kind: Function
metadata: {name: upper}
spec: {command: "tr a-z A-Z", inputs: [in], output: out}
---
kind: Parallel
metadata: {name: fan}
spec:
  branches:
    - filter: {exact: {type: a}}
      subscriber: {uri: "http://127.0.0.1:9/a"}
    - subscriber: {builtin: display}
---
kind: CronSource
metadata: {name: tick}
spec: {schedule: "* * * * *", sink: {ref: {kind: Parallel, name: fan}}}
)";
  const plan old_plan = make_plan(load(before));
  // Moved down a line, nothing else: the same.
  const plan moved = make_plan(load(std::string("\n") + std::string(before)));
  ASSERT_EQ(names(old_plan), names(moved));
  for (std::size_t i = 0; i < old_plan.stages.size(); ++i) {
    EXPECT_TRUE(same_definition(old_plan.stages[i], moved.stages[i])) << names(moved)[i];
  }
  EXPECT_TRUE(same_definition(old_plan.sources[0], moved.sources[0]));

  std::string changed(before);
  changed.replace(changed.find("{type: a}"), 9, "{type: b}");
  changed.replace(changed.find("tr a-z A-Z"), 10, "tr A-Z a-z");
  changed.replace(changed.find("* * * * *"), 9, "*/2 * * * *");
  const plan new_plan = make_plan(load(changed));
  std::set<std::string> differ;
  for (std::size_t i = 0; i < old_plan.stages.size(); ++i) {
    if (!same_definition(old_plan.stages[i], new_plan.stages[i])) differ.insert(names(new_plan)[i]);
  }
  EXPECT_EQ(differ, (std::set<std::string>{"upper", "fan-branch-0-filter"}));
  EXPECT_FALSE(same_definition(old_plan.sources[0], new_plan.sources[0]));
}

}  // namespace
}  // namespace shfn::flow
