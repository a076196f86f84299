// The flow kinds (Parallel, Sequence, CronSource / PingSource / CronJobSource): Knative's own
// manifests loading unchanged, every field's happy path and default, the STEP, SINK and DELIVERY
// shapes, refs resolved across the file, and each error with its exact line, column and field.

#include "config/flow.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/spec.h"
#include "config/tests/test_util.h"
#include "event/event.h"
#include "event/filter.h"

namespace shfn::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using testing::load_ok;

using strings = std::vector<std::string>;

// A Parallel named "p" whose spec is `spec_lines` (they start at line 5), after `before`.
std::string parallel(std::string_view spec_lines, std::string_view before = "") {
  return std::string(before) + "kind: Parallel\nmetadata:\n  name: p\nspec:\n" +
         std::string(spec_lines);
}

std::string sequence(std::string_view spec_lines) {
  return "kind: Sequence\nmetadata:\n  name: s\nspec:\n" + std::string(spec_lines);
}

// A cron source named "t" of `kind` whose spec is `spec_lines` (they start at line 5).
std::string cron(std::string_view spec_lines, std::string_view kind = "CronSource") {
  return "kind: " + std::string(kind) + "\nmetadata:\n  name: t\nspec:\n" + std::string(spec_lines);
}

// The topics of this file's flows, for errors that are about one line of a flow.
const std::string one_branch = "  branches:\n    - subscriber: {command: cat}\n";

// ---- Knative's own manifests -----------------------------------------------------------------

// Knative's "Parallel with multiple branches" sample (docs/eventing/samples/parallel), with the
// Knative Services it refers to written as shfn Functions of the same file.
constexpr std::string_view odd_even = R"(kind: Function
metadata:
  name: even-filter
spec:
  command: 'jq -e ".minute % 2 == 0" >/dev/null && cat'
---
kind: Function
metadata:
  name: odd-filter
spec:
  command: 'jq -e ".minute % 2 == 1" >/dev/null && cat'
---
kind: Function
metadata:
  name: even-transformer
spec:
  command: 'echo "{\"message\": \"we are even!\"}"'
---
kind: Function
metadata:
  name: odd-transformer
spec:
  command: 'echo "{\"message\": \"this is odd!\"}"'
---
kind: Function
metadata:
  name: event-display
spec:
  command: cat
  inputs: display
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata:
  name: odd-even-parallel
spec:
  channelTemplate:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
  branches:
    - filter:
        ref:
          apiVersion: serving.knative.dev/v1
          kind: Service
          name: even-filter
      subscriber:
        ref:
          apiVersion: serving.knative.dev/v1
          kind: Service
          name: even-transformer
    - filter:
        ref:
          apiVersion: serving.knative.dev/v1
          kind: Service
          name: odd-filter
      subscriber:
        ref:
          apiVersion: serving.knative.dev/v1
          kind: Service
          name: odd-transformer
  reply:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
---
apiVersion: sources.knative.dev/v1beta2
kind: PingSource
metadata:
  name: ping-source
spec:
  schedule: "*/1 * * * *"
  contentType: "application/json"
  data: '{"message": "Even or odd?"}'
  sink:
    ref:
      apiVersion: flows.knative.dev/v1
      kind: Parallel
      name: odd-even-parallel
)";

TEST(flow_test, knative_odd_even_sample_loads_unchanged) {
  auto f = load_ok(odd_even);
  ASSERT_EQ(f.functions.size(), 5u);
  ASSERT_EQ(f.parallels.size(), 1u);
  ASSERT_EQ(f.cron_sources.size(), 1u);
  EXPECT_TRUE(f.sequences.empty());

  const auto& p = f.parallels[0];
  EXPECT_EQ(p.name, "odd-even-parallel");
  EXPECT_EQ(p.where.line, 32);  // the document's first key, apiVersion
  EXPECT_TRUE(p.in_memory);
  EXPECT_EQ(p.ingress, "non-persistent://public/default/odd-even-parallel");
  ASSERT_EQ(p.branches.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& b = p.branches[i];
    EXPECT_EQ(b.topic,
              "non-persistent://public/default/odd-even-parallel-branch-" + std::to_string(i));
    ASSERT_TRUE(b.filter);
    EXPECT_EQ(b.filter->type, step_spec::kind::function);
    EXPECT_EQ(b.filter->function, i == 0 ? "even-filter" : "odd-filter");
    EXPECT_EQ(b.filter->ref_kind, "Service");
    EXPECT_EQ(b.subscriber.type, step_spec::kind::function);
    EXPECT_EQ(b.subscriber.function, i == 0 ? "even-transformer" : "odd-transformer");
    EXPECT_EQ(b.reply.type, sink_spec::kind::none);  // the Parallel's reply applies
    EXPECT_EQ(b.delivery.retry, 3);
  }
  EXPECT_EQ(p.branches[1].filter->where.line, 55);  // the ref's name
  EXPECT_EQ(p.branches[1].filter->field, "odd-even-parallel.spec.branches[1].filter.ref");
  // A ref to a Function (Knative: a Service) sends to the function's first input.
  EXPECT_EQ(p.reply.type, sink_spec::kind::topic);
  EXPECT_EQ(p.reply.topic, "persistent://public/default/display");
  EXPECT_EQ(p.reply.ref, "event-display");

  const auto& c = f.cron_sources[0];
  EXPECT_EQ(c.kind, "PingSource");
  EXPECT_EQ(c.schedule, "*/1 * * * *");
  EXPECT_EQ(c.timezone, "");
  EXPECT_EQ(c.data, R"({"message": "Even or odd?"})");
  EXPECT_EQ(c.content_type, "application/json");
  EXPECT_EQ(c.type, "dev.knative.sources.ping");
  EXPECT_EQ(c.source, "/apis/v1/namespaces/default/pingsources/ping-source");
  EXPECT_EQ(c.sink.type, sink_spec::kind::topic);
  EXPECT_EQ(c.sink.topic, p.ingress);
  EXPECT_EQ(c.sink.ref_kind, "Parallel");
}

TEST(flow_test, knative_sequence_and_older_shapes_load) {
  // Knative's sequence samples (flows.knative.dev/v1), and the v1alpha1 era's CronJobSource
  // whose sink is an ObjectReference written in place, without `ref`.
  auto f = load_ok(R"(kind: Function
metadata: {name: first}
spec: {command: "sed 's/$/ - Handled by 0/'"}
---
kind: Function
metadata: {name: second}
spec: {command: "sed 's/$/ - Handled by 1/'"}
---
kind: Function
metadata: {name: event-display}
spec: {command: cat, inputs: [shown, also-shown]}
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: sequence
spec:
  channelTemplate:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
  steps:
    - ref:
        apiVersion: serving.knative.dev/v1
        kind: Service
        name: first
    - ref:
        apiVersion: serving.knative.dev/v1
        kind: Service
        name: second
  reply:
    ref:
      kind: Service
      apiVersion: serving.knative.dev/v1
      name: event-display
---
apiVersion: sources.eventing.knative.dev/v1alpha1
kind: CronJobSource
metadata:
  name: cronjobs
spec:
  schedule: "*/2 * * * *"
  data: '{"message": "Hello world!"}'
  sink:
    apiVersion: flows.knative.dev/v1
    kind: Sequence
    name: sequence
)");
  ASSERT_EQ(f.sequences.size(), 1u);
  const auto& s = f.sequences[0];
  EXPECT_TRUE(s.in_memory);
  EXPECT_EQ(s.ingress, "non-persistent://public/default/sequence");
  ASSERT_EQ(s.steps.size(), 2u);
  EXPECT_EQ(s.steps[0].topic, s.ingress);
  EXPECT_EQ(s.steps[1].topic, "non-persistent://public/default/sequence-step-1");
  EXPECT_EQ(s.steps[0].step.function, "first");
  EXPECT_EQ(s.steps[1].step.function, "second");
  EXPECT_EQ(s.reply.topic, "persistent://public/default/shown");
  ASSERT_EQ(f.cron_sources.size(), 1u);
  const auto& c = f.cron_sources[0];
  EXPECT_EQ(c.kind, "CronJobSource");
  EXPECT_EQ(c.type, "dev.knative.cronjob.event");
  EXPECT_EQ(c.source, "/apis/v1/namespaces/default/cronjobsources/cronjobs");
  EXPECT_EQ(c.sink.topic, s.ingress);
  EXPECT_EQ(c.sink.ref, "sequence");
  EXPECT_EQ(c.sink.field, "cronjobs.spec.sink");
}

// ---- Parallel --------------------------------------------------------------------------------

TEST(flow_test, parallel_defaults) {
  auto f = load_ok(parallel(one_branch));
  ASSERT_EQ(f.parallels.size(), 1u);
  const auto& p = f.parallels[0];
  EXPECT_EQ(p.name, "p");
  EXPECT_EQ(p.where.line, 1);
  EXPECT_EQ(p.ingress, "persistent://public/default/p");
  EXPECT_FALSE(p.in_memory);
  EXPECT_EQ(p.reply.type, sink_spec::kind::none);
  ASSERT_EQ(p.branches.size(), 1u);
  const auto& b = p.branches[0];
  EXPECT_EQ(b.where.line, 6);
  EXPECT_EQ(b.topic, "persistent://public/default/p-branch-0");
  EXPECT_FALSE(b.filter);
  EXPECT_EQ(b.subscriber.type, step_spec::kind::command);
  // As a Function's command: `bash -c STRING NAME`, NAME ($0) naming the flow and the role.
  EXPECT_EQ(b.subscriber.argv, (strings{"bash", "-c", "cat", "p-branch-0-subscriber"}));
  EXPECT_EQ(b.subscriber.field, "p.spec.branches[0].subscriber.command");
  EXPECT_EQ(b.reply.type, sink_spec::kind::none);
  EXPECT_EQ(b.delivery.retry, 3);
  EXPECT_EQ(b.delivery.policy, backoff_policy::exponential);
  EXPECT_EQ(b.delivery.backoff_delay, std::chrono::milliseconds(200));
  EXPECT_EQ(b.delivery.timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(b.delivery.dead_letter.type, sink_spec::kind::none);
}

TEST(flow_test, parallel_every_field) {
  auto f = load_ok(parallel(R"(  ingress: tenant/ns/orders
  channelTemplate:
    apiVersion: messaging.knative.dev/v1
    kind: PersistentChannel
    spec: {anything: [accepted, and, ignored]}
  branches:
    - filter: {command: [grep, -q, paid]}
      subscriber: {uri: "http://127.0.0.1:8080/paid"}
      reply: {topic: persistent://tenant/ns/paid}
      delivery:
        retry: 0
        backoffPolicy: Linear
        backoffDelay: PT1.5S
        timeout: PT2M
        deadLetterSink: {topic: dead}
    - filter:
        exact: {type: order.refunded}
      subscriber: {builtin: display}
      reply: {uri: "http://[::1]:9000/refunds?x=1"}
  reply:
    builtin: display
)"));
  ASSERT_EQ(f.parallels.size(), 1u);
  const auto& p = f.parallels[0];
  EXPECT_EQ(p.ingress, "persistent://tenant/ns/orders");
  EXPECT_FALSE(p.in_memory);
  ASSERT_EQ(p.branches.size(), 2u);
  const auto& b0 = p.branches[0];
  EXPECT_EQ(b0.topic, "persistent://tenant/ns/orders-branch-0");
  ASSERT_TRUE(b0.filter);
  EXPECT_EQ(b0.filter->type, step_spec::kind::command);
  EXPECT_EQ(b0.filter->argv, (strings{"grep", "-q", "paid"}));
  EXPECT_EQ(b0.subscriber.type, step_spec::kind::uri);
  EXPECT_EQ(b0.subscriber.uri, "http://127.0.0.1:8080/paid");
  EXPECT_EQ(b0.reply.type, sink_spec::kind::topic);
  EXPECT_EQ(b0.reply.topic, "persistent://tenant/ns/paid");
  EXPECT_EQ(b0.reply.where.line, 13);
  EXPECT_EQ(b0.reply.field, "p.spec.branches[0].reply.topic");
  EXPECT_EQ(b0.delivery.retry, 0);
  EXPECT_EQ(b0.delivery.policy, backoff_policy::linear);
  EXPECT_EQ(b0.delivery.backoff_delay, std::chrono::milliseconds(1500));
  EXPECT_EQ(b0.delivery.timeout, std::chrono::minutes(2));
  EXPECT_EQ(b0.delivery.dead_letter.type, sink_spec::kind::topic);
  EXPECT_EQ(b0.delivery.dead_letter.topic, "persistent://public/default/dead");
  const auto& b1 = p.branches[1];
  EXPECT_EQ(b1.topic, "persistent://tenant/ns/orders-branch-1");
  ASSERT_TRUE(b1.filter);
  EXPECT_EQ(b1.filter->type, step_spec::kind::attributes);
  EXPECT_EQ(b1.filter->attributes, (nlohmann::json{{"exact", {{"type", "order.refunded"}}}}));
  EXPECT_EQ(b1.subscriber.type, step_spec::kind::display);
  EXPECT_EQ(b1.reply.type, sink_spec::kind::uri);
  EXPECT_EQ(b1.reply.uri, "http://[::1]:9000/refunds?x=1");
  EXPECT_EQ(p.reply.type, sink_spec::kind::display);
  EXPECT_EQ(to_string(backoff_policy::linear), "linear");
  EXPECT_EQ(to_string(backoff_policy::exponential), "exponential");
}

TEST(flow_test, cases_is_knatives_older_name_for_branches) {
  auto f = load_ok(parallel("  cases:\n    - subscriber: {command: cat}\n"));
  ASSERT_EQ(f.parallels.size(), 1u);
  ASSERT_EQ(f.parallels[0].branches.size(), 1u);
  EXPECT_EQ(f.parallels[0].branches[0].subscriber.argv[2], "cat");
}

TEST(flow_test, in_memory_channels_are_non_persistent_topics) {
  const std::string in_memory = "  channelTemplate: {kind: InMemoryChannel}\n";
  auto f = load_ok(parallel(in_memory + "  ingress: t/n/in\n" + one_branch));
  ASSERT_EQ(f.parallels.size(), 1u);
  EXPECT_TRUE(f.parallels[0].in_memory);
  EXPECT_EQ(f.parallels[0].ingress, "non-persistent://t/n/in");
  EXPECT_EQ(f.parallels[0].branches[0].topic, "non-persistent://t/n/in-branch-0");

  f = load_ok(parallel(in_memory + "  ingress: non-persistent://t/n/in\n" + one_branch));
  EXPECT_EQ(f.parallels[0].ingress, "non-persistent://t/n/in");

  // Without a channelTemplate, a non-persistent ingress says the channels are in memory.
  f = load_ok(parallel("  ingress: non-persistent://t/n/in\n" + one_branch));
  EXPECT_TRUE(f.parallels[0].in_memory);
  EXPECT_EQ(f.parallels[0].branches[0].topic, "non-persistent://t/n/in-branch-0");

  f = load_ok(parallel("  channelTemplate: {kind: inmemorychannel}\n" + one_branch));
  EXPECT_TRUE(f.parallels[0].in_memory);
}

TEST(flow_test, parallel_errors) {
  EXPECT_THAT(errors_of(parallel("  reply: {builtin: display}\n")),
              ElementsAre("f.yaml:5:3: p.spec.branches: required field is missing"));
  EXPECT_THAT(errors_of(parallel("  branches: []\n")),
              ElementsAre("f.yaml:5:13: p.spec.branches: must list at least one branch"));
  EXPECT_THAT(errors_of(parallel(one_branch + "  cases: []\n")),
              ElementsAre("f.yaml:7:10: p.spec.cases: give branches or cases (Knative's older "
                          "name for them), not both"));
  EXPECT_THAT(errors_of(parallel("  branches:\n    - subscribr: {command: cat}\n")),
              ElementsAre("f.yaml:6:7: p.spec.branches[0].subscribr: unknown field (did you mean "
                          "\"subscriber\"?)",
                          "f.yaml:6:7: p.spec.branches[0].subscriber: required field is missing"));
  EXPECT_THAT(errors_of(parallel("  branches: [cat]\n")),
              ElementsAre("f.yaml:5:14: p.spec.branches[0]: expected a mapping, got \"cat\""));
  EXPECT_THAT(errors_of(parallel("  ingress: a/b\n" + one_branch)),
              ElementsAre("f.yaml:5:12: p.spec.ingress: invalid topic name \"a/b\": expected "
                          "NAME, TENANT/NAMESPACE/NAME or persistent://TENANT/NAMESPACE/NAME"));
  EXPECT_THAT(errors_of(parallel("  ingress: in-partition-2\n" + one_branch)),
              ElementsAre("f.yaml:5:12: p.spec.ingress: must not name a partition "
                          "(-partition-N): the flow's channels are topics of their own"));
  EXPECT_THAT(
      errors_of(parallel("  channelTemplate: {kind: InMemoryChannel}\n"
                         "  ingress: persistent://public/default/in\n" +
                         one_branch)),
      ElementsAre("f.yaml:6:12: p.spec.ingress: a persistent:// ingress with channelTemplate kind "
                  "InMemoryChannel: give a short name or non-persistent://, or use "
                  "PersistentChannel"));
  EXPECT_THAT(
      errors_of(parallel("  channelTemplate: {kind: PersistentChannel}\n"
                         "  ingress: non-persistent://public/default/in\n" +
                         one_branch)),
      ElementsAre("f.yaml:6:12: p.spec.ingress: a non-persistent:// ingress with channelTemplate "
                  "kind PersistentChannel: use InMemoryChannel, or a persistent topic"));
  EXPECT_THAT(errors_of(parallel("  channelTemplate: {kind: KafkaChannel}\n" + one_branch)),
              ElementsAre("f.yaml:5:27: p.spec.channelTemplate.kind: expected InMemoryChannel or "
                          "PersistentChannel, got \"KafkaChannel\""));
  EXPECT_THAT(errors_of(parallel("  channelTemplate: {apiVersion: v1}\n" + one_branch)),
              ElementsAre("f.yaml:5:20: p.spec.channelTemplate.kind: required field is missing"));
  EXPECT_THAT(errors_of(parallel("  branch: []\n")),
              ElementsAre("f.yaml:5:3: p.spec.branch: unknown field (did you mean "
                          "\"branches\"?)",
                          "f.yaml:5:3: p.spec.branches: required field is missing"));
}

// ---- Sequence --------------------------------------------------------------------------------

TEST(flow_test, sequence_steps_and_their_delivery) {
  auto f = load_ok(R"(kind: Function
metadata: {name: upper}
spec: {command: tr a-z A-Z}
---
kind: Parallel
metadata: {name: fan}
spec:
  branches: [{subscriber: {builtin: display}}]
---
kind: Sequence
metadata:
  name: pipeline
spec:
  ingress: jobs
  steps:
    - ref: {name: upper}
    - command: rev
      delivery: {retry: 7, backoffDelay: PT1S}
    - uri: http://localhost:8080/
    - builtin: DISPLAY
  reply:
    ref: {kind: Parallel, name: fan}
)");
  ASSERT_EQ(f.sequences.size(), 1u);
  const auto& s = f.sequences[0];
  EXPECT_EQ(s.name, "pipeline");
  EXPECT_EQ(s.where.line, 10);
  EXPECT_EQ(s.ingress, "persistent://public/default/jobs");
  EXPECT_FALSE(s.in_memory);
  ASSERT_EQ(s.steps.size(), 4u);
  EXPECT_EQ(s.steps[0].topic, "persistent://public/default/jobs");
  EXPECT_EQ(s.steps[1].topic, "persistent://public/default/jobs-step-1");
  EXPECT_EQ(s.steps[3].topic, "persistent://public/default/jobs-step-3");
  EXPECT_EQ(s.steps[0].step.type, step_spec::kind::function);
  EXPECT_EQ(s.steps[0].step.function, "upper");
  EXPECT_EQ(s.steps[0].step.ref_kind, "");
  EXPECT_EQ(s.steps[0].delivery.retry, 3);
  EXPECT_EQ(s.steps[1].step.argv, (strings{"bash", "-c", "rev", "pipeline-step-1"}));
  EXPECT_EQ(s.steps[1].delivery.retry, 7);
  EXPECT_EQ(s.steps[1].delivery.backoff_delay, std::chrono::seconds(1));
  EXPECT_EQ(s.steps[2].step.type, step_spec::kind::uri);
  EXPECT_EQ(s.steps[3].step.type, step_spec::kind::display);
  EXPECT_EQ(s.reply.type, sink_spec::kind::topic);
  EXPECT_EQ(s.reply.topic, "persistent://public/default/fan");
}

TEST(flow_test, sequence_errors) {
  EXPECT_THAT(errors_of(sequence("  reply: {builtin: display}\n")),
              ElementsAre("f.yaml:5:3: s.spec.steps: required field is missing"));
  EXPECT_THAT(errors_of(sequence("  steps: []\n")),
              ElementsAre("f.yaml:5:10: s.spec.steps: must list at least one step"));
  EXPECT_THAT(errors_of(sequence("  steps:\n    - command: cat\n      delivery: {retries: 2}\n")),
              ElementsAre("f.yaml:7:18: s.spec.steps[0].delivery.retries: unknown field"));
  EXPECT_THAT(errors_of(sequence("  steps:\n    - exact: {type: x}\n")),
              ElementsAre("f.yaml:6:14: s.spec.steps[0].exact: attribute filters can only filter: "
                          "a step must be a Function, a command, a uri or builtin: display"));
}

// ---- STEP ------------------------------------------------------------------------------------

TEST(flow_test, step_errors) {
  auto branch = [](std::string_view subscriber) {
    return parallel("  branches:\n    - subscriber: " + std::string(subscriber) + "\n");
  };
  EXPECT_THAT(errors_of(branch("{}")),
              ElementsAre("f.yaml:6:19: p.spec.branches[0].subscriber: expected one of ref, "
                          "command, uri or builtin"));
  EXPECT_THAT(errors_of(branch("cat")),
              ElementsAre("f.yaml:6:19: p.spec.branches[0].subscriber: expected a mapping, got "
                          "\"cat\""));
  EXPECT_THAT(errors_of(branch("{command: cat, uri: 'http://h/'}")),
              ElementsAre("f.yaml:6:39: p.spec.branches[0].subscriber.uri: give one of ref, "
                          "command, uri or builtin, not both command and uri"));
  EXPECT_THAT(errors_of(branch("{ref: {name: f}, uri: /path}")),
              ElementsAre("f.yaml:6:41: p.spec.branches[0].subscriber.uri: ref and uri together "
                          "(Knative resolves the uri against the ref) are not supported: give one "
                          "of them"));
  EXPECT_THAT(errors_of(branch("{exact: {type: x}}")),
              ElementsAre("f.yaml:6:27: p.spec.branches[0].subscriber.exact: attribute filters "
                          "can only filter: a subscriber must be a Function, a command, a uri or "
                          "builtin: display"));
  EXPECT_THAT(errors_of(branch("{builtin: echo}")),
              ElementsAre("f.yaml:6:29: p.spec.branches[0].subscriber.builtin: expected display, "
                          "got \"echo\""));
  EXPECT_THAT(errors_of(branch("{command: ''}")),
              ElementsAre("f.yaml:6:29: p.spec.branches[0].subscriber.command: must not be "
                          "empty"));
  EXPECT_THAT(errors_of(branch("{command: ['', x]}")),
              ElementsAre("f.yaml:6:30: p.spec.branches[0].subscriber.command[0]: the program "
                          "must not be empty"));
  EXPECT_THAT(errors_of(branch("{ref: {kind: Parallel, name: q}}")),
              ElementsAre("f.yaml:6:32: p.spec.branches[0].subscriber.ref.kind: kind Parallel "
                          "cannot be a subscriber: a subscriber must be a Function, a command, a "
                          "uri or builtin: display (a Parallel can be a reply)"));
  EXPECT_THAT(errors_of(branch("{ref: {kind: Function}}")),
              ElementsAre("f.yaml:6:25: p.spec.branches[0].subscriber.ref.name: required field "
                          "is missing"));
  EXPECT_THAT(errors_of(branch("{ref: {name: f, uid: 1}}")),
              ElementsAre("f.yaml:6:32: p.spec.branches[0].subscriber.ref: no Function named "
                          "\"f\" in this file",
                          "f.yaml:6:35: p.spec.branches[0].subscriber.ref.uid: unknown field (did "
                          "you mean \"kind\"?)"));
  EXPECT_THAT(errors_of(branch("{commmand: cat}")),
              ElementsAre("f.yaml:6:19: p.spec.branches[0].subscriber: expected one of ref, "
                          "command, uri or builtin",
                          "f.yaml:6:20: p.spec.branches[0].subscriber.commmand: unknown field "
                          "(did you mean \"command\"?)"));

  auto filter = [](std::string_view f) {
    return parallel(
        "  branches:\n    - subscriber: {command: cat}\n      filter: " + std::string(f) + "\n");
  };
  EXPECT_THAT(errors_of(filter("{builtin: display}")),
              ElementsAre("f.yaml:7:25: p.spec.branches[0].filter.builtin: builtin display cannot "
                          "filter: it shows events and returns none"));
  EXPECT_THAT(
      errors_of(filter("{}")),
      ElementsAre("f.yaml:7:15: p.spec.branches[0].filter: expected one of ref, command, "
                  "uri or an attribute filter (exact, prefix, suffix, all, any, not, cesql)"));
  EXPECT_THAT(errors_of(filter("{exact: {type: x}, command: cat}")),
              ElementsAre("f.yaml:7:23: p.spec.branches[0].filter.exact: give one of ref, "
                          "command, uri or a filter, not both command and exact"));
}

TEST(flow_test, uris_are_absolute_http_or_https) {
  auto with_uri = [](std::string_view uri) {
    return parallel("  branches:\n    - subscriber: {uri: '" + std::string(uri) + "'}\n");
  };
  for (std::string_view good :
       {"http://h", "http://h/", "HTTP://Example.COM:80/a/b?c=d#e", "http://10.0.0.1:65535/x",
        "http://[::1]/", "http://my_host/", "https://h/", "HTTPS://h:8443/x"}) {
    EXPECT_THAT(errors_of(with_uri(good)), ElementsAre()) << good;
  }
  const std::string at = "f.yaml:6:25: p.spec.branches[0].subscriber.uri: ";
  EXPECT_THAT(errors_of(with_uri("/relative")),
              ElementsAre(at + "expected an absolute http:// or https:// URL "
                               "(https://HOST[:PORT]/PATH), got \"/relative\""));
  EXPECT_THAT(errors_of(with_uri("ftp://h/")),
              ElementsAre(at + "expected an absolute http:// or https:// URL "
                               "(https://HOST[:PORT]/PATH), got \"ftp://h/\""));
  EXPECT_THAT(errors_of(with_uri("http:///x")),
              ElementsAre(at + "invalid uri \"http:///x\": missing a host"));
  EXPECT_THAT(errors_of(with_uri("http://h:0/")),
              ElementsAre(at + "invalid uri \"http://h:0/\": invalid port \"0\""));
  EXPECT_THAT(errors_of(with_uri("http://h:99999/")),
              ElementsAre(at + "invalid uri \"http://h:99999/\": invalid port \"99999\""));
  EXPECT_THAT(errors_of(with_uri("http://h:/")),
              ElementsAre(at + "invalid uri \"http://h:/\": invalid port \"\""));
  EXPECT_THAT(errors_of(with_uri("http://u:p@h/")),
              ElementsAre(at + "invalid uri \"http://u:p@h/\": user information (USER@HOST) is "
                               "not supported"));
  EXPECT_THAT(errors_of(with_uri("http://h/a b")),
              ElementsAre(at + "invalid uri \"http://h/a b\": spaces and control characters "
                               "must be escaped"));
  EXPECT_THAT(errors_of(with_uri("http://h!/")),
              ElementsAre(at + "invalid uri \"http://h!/\": invalid host \"h!\""));
  EXPECT_THAT(errors_of(with_uri("http://[::1/")),
              ElementsAre(at + "invalid uri \"http://[::1/\": missing ']'"));
}

// ---- attribute filters -----------------------------------------------------------------------

// The Parallel "p" with one branch whose filter is `filter_yaml` (indented for line 7 on).
std::string with_filter(std::string_view filter_yaml) {
  return parallel("  branches:\n    - subscriber: {command: cat}\n      filter:\n" +
                  std::string(filter_yaml));
}

TEST(flow_test, attribute_filters_load_as_event_filters_read_them) {
  auto f = load_ok(with_filter(R"(        all:
          - exact: {type: com.example.order, source: /shop}
          - any:
              - prefix: {subject: "eu-"}
              - suffix: {subject: "-test"}
          - not:
              exact: {myext: "skip"}
)"));
  ASSERT_EQ(f.parallels.size(), 1u);
  const auto& filter = f.parallels[0].branches[0].filter;
  ASSERT_TRUE(filter);
  EXPECT_EQ(filter->type, step_spec::kind::attributes);
  EXPECT_EQ(filter->where.line, 8);
  EXPECT_EQ(filter->field, "p.spec.branches[0].filter");
  const auto expected = nlohmann::json::parse(R"({"all": [
      {"exact": {"type": "com.example.order", "source": "/shop"}},
      {"any": [{"prefix": {"subject": "eu-"}}, {"suffix": {"subject": "-test"}}]},
      {"not": {"exact": {"myext": "skip"}}}]})");
  EXPECT_EQ(filter->attributes, expected);

  // The event module evaluates what was loaded: the same JSON, the same meaning.
  auto parsed = event::parse_filter(filter->attributes);
  ASSERT_TRUE(parsed) << parsed.error().message;
  event::cloud_event e{.id = "1", .source = "/shop", .type = "com.example.order"};
  e.subject = "eu-42";
  EXPECT_TRUE(event::matches(*parsed, e));
  e.extensions.emplace_back("myext", "skip");
  EXPECT_FALSE(event::matches(*parsed, e));
  e.extensions.clear();
  e.subject = "us-1";
  EXPECT_FALSE(event::matches(*parsed, e));
}

TEST(flow_test, every_dialect_and_the_deepest_nesting_agree_with_the_event_module) {
  // Nesting as deep as both allow: 32 `not`s inside the top filter.
  std::string deep = "        ";
  for (int i = 0; i < 32; ++i) deep += "not: {";
  deep += "exact: {type: x}" + std::string(32, '}') + "\n";
  for (const std::string& yaml :
       strings{"        exact: {type: a, id: b, datacontenttype: c, myext1: d}\n",
               "        prefix: {source: /a}\n", "        suffix: {type: .b}\n",
               "        any: [{exact: {type: a}}]\n", "        not: {suffix: {type: b}}\n", deep}) {
    auto f = load_ok(with_filter(yaml));
    ASSERT_EQ(f.parallels.size(), 1u) << yaml;
    const auto& filter = f.parallels[0].branches[0].filter;
    ASSERT_TRUE(filter) << yaml;
    auto parsed = event::parse_filter(filter->attributes);
    EXPECT_TRUE(parsed) << yaml << ": " << (parsed ? "" : parsed.error().message);
  }
}

TEST(flow_test, attribute_filter_errors) {
  const std::string at = "p.spec.branches[0].filter";
  EXPECT_THAT(errors_of(with_filter("        exact: {}\n")),
              ElementsAre("f.yaml:8:16: " + at + ".exact: must name at least one attribute"));
  EXPECT_THAT(errors_of(with_filter("        exact: {Type: x, 1a: y, my-ext: z, data: w}\n")),
              ElementsAre("f.yaml:8:17: " + at +
                              ".exact.Type: invalid attribute name \"Type\": expected lower-case "
                              "letters and digits, starting with a letter",
                          "f.yaml:8:26: " + at +
                              ".exact.1a: invalid attribute name \"1a\": expected lower-case "
                              "letters and digits, starting with a letter",
                          "f.yaml:8:33: " + at +
                              ".exact.my-ext: invalid attribute name \"my-ext\": expected "
                              "lower-case letters and digits, starting with a letter",
                          "f.yaml:8:44: " + at +
                              ".exact.data: \"data\" is the event's payload, not an attribute"));
  EXPECT_THAT(
      errors_of(with_filter("        prefix: {type: '', source: {a: b}}\n")),
      ElementsAre("f.yaml:8:24: " + at + ".prefix.type: must not be empty",
                  "f.yaml:8:36: " + at + ".prefix.source: expected a string, got a mapping"));
  EXPECT_THAT(errors_of(with_filter("        suffix: [type]\n")),
              ElementsAre("f.yaml:8:17: " + at + ".suffix: expected a mapping, got a list"));
  EXPECT_THAT(errors_of(with_filter("        all: []\n")),
              ElementsAre("f.yaml:8:14: " + at + ".all: must list at least one filter"));
  EXPECT_THAT(errors_of(with_filter("        any: {exact: {type: x}}\n")),
              ElementsAre("f.yaml:8:14: " + at + ".any: expected a list, got a mapping"));
  EXPECT_THAT(errors_of(with_filter("        exact: {type: a}\n        prefix: {type: b}\n")),
              ElementsAre("f.yaml:9:17: " + at +
                          ".prefix: a filter has one dialect, not both exact and prefix: "
                          "combine filters with all: [...]"));
  EXPECT_THAT(
      errors_of(with_filter("        all:\n          - exakt: {type: a}\n"
                            "          - {}\n          - not: x\n")),
      ElementsAre("f.yaml:9:13: " + at + ".all[0].exakt: unknown field (did you mean \"exact\"?)",
                  "f.yaml:9:13: " + at +
                      ".all[0]: expected one of exact, prefix, suffix, all, any, not or cesql",
                  "f.yaml:10:13: " + at +
                      ".all[1]: expected one of exact, prefix, "
                      "suffix, all, any, not or cesql",
                  "f.yaml:11:18: " + at + ".all[2].not: expected a mapping, got \"x\""));
  EXPECT_THAT(
      errors_of(with_filter("        any: [{sql: \"type = 'x'\"}]\n")),
      ElementsAre("f.yaml:8:15: " + at +
                      ".any[0]: expected one of exact, prefix, suffix, all, any, not or cesql",
                  "f.yaml:8:16: " + at + ".any[0].sql: unknown field (did you mean \"all\"?)"));
  // One level deeper than the event module accepts.
  std::string deep = "        ";
  for (int i = 0; i < 33; ++i) deep += "not: {";
  deep += "exact: {type: x}" + std::string(33, '}') + "\n";
  std::string path = at;
  for (int i = 0; i < 33; ++i) path += ".not";
  // The 33rd `not:`'s value: 8 spaces, then 32 times "not: {", then "not: ".
  const int column = 8 + 32 * 6 + 5 + 1;
  EXPECT_THAT(errors_of(with_filter(deep)),
              ElementsAre(fmt::format("f.yaml:8:{}: {}: filters nested deeper than 32 levels",
                                      column, path)));
}

// ---- SINK and DELIVERY -----------------------------------------------------------------------

TEST(flow_test, sink_errors) {
  auto reply = [](std::string_view sink) {
    return parallel(one_branch + "  reply: " + std::string(sink) + "\n");
  };
  EXPECT_THAT(errors_of(reply("{}")),
              ElementsAre("f.yaml:7:10: p.spec.reply: expected one of topic, ref, uri or builtin"));
  EXPECT_THAT(errors_of(reply("out")),
              ElementsAre("f.yaml:7:10: p.spec.reply: expected a mapping, got \"out\""));
  EXPECT_THAT(errors_of(reply("{topic: a, builtin: display}")),
              ElementsAre("f.yaml:7:30: p.spec.reply.builtin: give one of topic, ref, uri or "
                          "builtin, not both topic and builtin"));
  EXPECT_THAT(errors_of(reply("{ref: {name: x}, uri: /x}")),
              ElementsAre("f.yaml:7:32: p.spec.reply.uri: ref and uri together (Knative "
                          "resolves the uri against the ref) are not supported: give one of "
                          "them"));
  EXPECT_THAT(errors_of(reply("{topic: a, name: b}")),
              ElementsAre("f.yaml:7:27: p.spec.reply.name: name belongs under ref"));
  EXPECT_THAT(errors_of(reply("{topic: 'a/b'}")),
              ElementsAre("f.yaml:7:18: p.spec.reply.topic: invalid topic name \"a/b\": expected "
                          "NAME, TENANT/NAMESPACE/NAME or persistent://TENANT/NAMESPACE/NAME"));
  EXPECT_THAT(errors_of(reply("{ref: {kind: Broker, name: default}}")),
              ElementsAre("f.yaml:7:37: p.spec.reply.ref: no Broker named \"default\" in this "
                          "file"));
  EXPECT_THAT(errors_of(reply("{ref: {kind: Sequense, name: x}}")),
              ElementsAre("f.yaml:7:23: p.spec.reply.ref.kind: expected Function, Service, "
                          "Parallel, Sequence, Broker, Channel or InMemoryChannel (a document of "
                          "this file), got \"Sequense\" (did you mean \"Sequence\"?)"));
  EXPECT_THAT(errors_of(reply("{ref: {kind: PingSource, name: x}}")),
              ElementsAre("f.yaml:7:23: p.spec.reply.ref.kind: a PingSource sends events and "
                          "cannot receive them"));
  EXPECT_THAT(errors_of(reply("{uri: 'https://x/', CACerts: '-----BEGIN CERTIFICATE-----'}")),
              ElementsAre());
  EXPECT_THAT(errors_of(reply("{uri: 'http://x/', CACerts: '-----BEGIN CERTIFICATE-----'}")),
              ElementsAre("f.yaml:7:38: p.spec.reply.CACerts: CACerts goes with an https:// uri: "
                          "it says which CAs the server's certificate must chain to"));
  EXPECT_THAT(errors_of(reply("{uri: 'https://x/', CACerts: 'my ca'}")),
              ElementsAre("f.yaml:7:39: p.spec.reply.CACerts: expected PEM certificates "
                          "(-----BEGIN CERTIFICATE----- ...)"));
  EXPECT_THAT(errors_of(reply("{topc: a}")),
              ElementsAre("f.yaml:7:10: p.spec.reply: expected one of topic, ref, uri or builtin",
                          "f.yaml:7:11: p.spec.reply.topc: unknown field (did you mean "
                          "\"topic\"?)"));
}

TEST(flow_test, delivery_errors) {
  auto delivery = [](std::string_view d) {
    return parallel(
        "  branches:\n    - subscriber: {command: cat}\n      delivery: " + std::string(d) + "\n");
  };
  const std::string at = "p.spec.branches[0].delivery";
  EXPECT_THAT(errors_of(delivery("{retry: -1}")),
              ElementsAre("f.yaml:7:25: " + at +
                          ".retry: must be between 0 and 2147483647, got "
                          "-1"));
  EXPECT_THAT(errors_of(delivery("{backoffPolicy: quadratic}")),
              ElementsAre("f.yaml:7:33: " + at +
                          ".backoffPolicy: expected exponential or linear, got \"quadratic\""));
  EXPECT_THAT(errors_of(delivery("{backoffDelay: 5s}")),
              ElementsAre("f.yaml:7:32: " + at +
                          ".backoffDelay: invalid ISO-8601 duration \"5s\": expected e.g. PT5S "
                          "or PT0.5S"));
  EXPECT_THAT(errors_of(delivery("{backoffDelay: P1M}")),
              ElementsAre("f.yaml:7:32: " + at +
                          ".backoffDelay: invalid ISO-8601 duration \"P1M\": months are not "
                          "supported: a month has no fixed length (for minutes write PT1M)"));
  EXPECT_THAT(errors_of(delivery("{timeout: PT0S}")),
              ElementsAre("f.yaml:7:27: " + at +
                          ".timeout: must be longer than zero: every attempt would time out at "
                          "once"));
  EXPECT_THAT(errors_of(delivery("{deadLetterSink: {uri: x}}")),
              ElementsAre("f.yaml:7:40: " + at +
                          ".deadLetterSink.uri: expected an absolute http:// or https:// URL "
                          "(https://HOST[:PORT]/PATH), got \"x\""));
  EXPECT_THAT(errors_of(delivery("{backofDelay: PT1S}")),
              ElementsAre("f.yaml:7:18: " + at +
                          ".backofDelay: unknown field (did you mean \"backoffDelay\"?)"));
}

// ---- refs across the file --------------------------------------------------------------------

constexpr std::string_view ticker = R"(kind: PingSource
metadata: {name: ticker}
spec: {schedule: "@hourly", sink: {builtin: display}}
---
)";

TEST(flow_test, step_refs_resolve_to_functions_of_the_file) {
  const std::string fns =
      "kind: Function\nmetadata: {name: upper}\nspec: {command: cat, inputs: up}\n---\n"
      "kind: Sequence\nmetadata: {name: seq}\nspec: {steps: [{command: cat}]}\n---\n";  // 8 lines
  auto sub = [&](std::string_view ref) {
    return parallel("  branches:\n    - subscriber: {ref: " + std::string(ref) + "}\n", fns);
  };
  EXPECT_THAT(errors_of(sub("{name: upper}")), ElementsAre());
  EXPECT_THAT(errors_of(sub("{kind: Service, apiVersion: serving.knative.dev/v1, name: upper, "
                            "namespace: default}")),
              ElementsAre());
  EXPECT_THAT(errors_of(sub("{name: uper}")),
              ElementsAre("f.yaml:14:32: p.spec.branches[0].subscriber.ref: no Function named "
                          "\"uper\" in this file (did you mean \"upper\"?)"));
  EXPECT_THAT(errors_of(sub("{name: seq}")),
              ElementsAre("f.yaml:14:32: p.spec.branches[0].subscriber.ref: \"seq\" is a "
                          "Sequence; a subscriber must be a Function, a command, a uri or "
                          "builtin: display (a Sequence can be a reply)"));
  EXPECT_THAT(errors_of(sub("{kind: Function, name: p}")),
              ElementsAre("f.yaml:14:48: p.spec.branches[0].subscriber.ref: \"p\" is a Parallel; "
                          "a subscriber must be a Function, a command, a uri or builtin: display "
                          "(a Parallel can be a reply)"));
  EXPECT_THAT(
      errors_of(std::string(ticker) + parallel("  branches:\n    - subscriber: {command: cat}\n"
                                               "      filter: {ref: {name: ticker}}\n")),
      ElementsAre("f.yaml:11:28: p.spec.branches[0].filter.ref: \"ticker\" is a "
                  "PingSource; a filter must be a Function, a command, a uri or an "
                  "attribute filter"));
  EXPECT_THAT(errors_of(sequence("  steps: [{ref: {name: nothing}}]\n")),
              ElementsAre("f.yaml:5:24: s.spec.steps[0].ref: no Function named \"nothing\" in "
                          "this file"));
}

TEST(flow_test, sink_refs_become_topics) {
  auto f = load_ok(R"(kind: Function
metadata: {name: store}
spec: {command: cat, inputs: [first, second]}
---
kind: Sequence
metadata: {name: seq}
spec:
  ingress: seq-in
  steps: [{command: cat}]
  reply: {ref: {name: store}}
---
kind: Parallel
metadata: {name: par}
spec:
  branches:
    - subscriber: {command: cat}
      reply: {ref: {kind: Sequence, name: seq}}
      delivery: {deadLetterSink: {ref: {kind: Function, name: store}}}
  reply: {ref: {name: seq}}
---
kind: CronSource
metadata: {name: tick}
spec: {schedule: '@daily', sink: {ref: {name: par}}}
)");
  ASSERT_EQ(f.parallels.size(), 1u);
  EXPECT_EQ(f.sequences[0].reply.topic, "persistent://public/default/first");
  const auto& b = f.parallels[0].branches[0];
  EXPECT_EQ(b.reply.type, sink_spec::kind::topic);
  EXPECT_EQ(b.reply.topic, "persistent://public/default/seq-in");
  EXPECT_EQ(b.delivery.dead_letter.topic, "persistent://public/default/first");
  EXPECT_EQ(f.parallels[0].reply.topic, "persistent://public/default/seq-in");
  EXPECT_EQ(f.cron_sources[0].sink.topic, "persistent://public/default/par");
}

TEST(flow_test, sink_ref_errors) {
  const std::string docs = std::string(ticker) +
                           "kind: Function\nmetadata: {name: sink-fn}\nspec: {command: cat}\n---\n"
                           "kind: Sequence\nmetadata: {name: seq}\nspec: {steps: [{ref: {name: "
                           "sink-fn}}]}\n---\n";  // 12 lines: the Parallel starts at line 13
  auto reply = [&](std::string_view ref) {
    return parallel(one_branch + "  reply: {ref: " + std::string(ref) + "}\n", docs);
  };
  EXPECT_THAT(errors_of(reply("{name: seq}")), ElementsAre());
  EXPECT_THAT(
      errors_of(reply("{name: sek}")),
      ElementsAre("f.yaml:19:23: p.spec.reply.ref: no Function, Parallel, Sequence, Broker or "
                  "Channel named \"sek\" in this file (did you mean \"seq\"?)"));
  EXPECT_THAT(errors_of(reply("{kind: Parallel, name: sequ}")),
              ElementsAre("f.yaml:19:39: p.spec.reply.ref: no Parallel named \"sequ\" in this "
                          "file"));
  EXPECT_THAT(errors_of(reply("{kind: Parallel, name: seq}")),
              ElementsAre("f.yaml:19:39: p.spec.reply.ref: \"seq\" is a Sequence, not a "
                          "Parallel"));
  EXPECT_THAT(errors_of(reply("{kind: Service, name: seq}")),
              ElementsAre("f.yaml:19:38: p.spec.reply.ref: \"seq\" is a Sequence, not a "
                          "Service"));
  EXPECT_THAT(errors_of(reply("{name: ticker}")),
              ElementsAre("f.yaml:19:23: p.spec.reply.ref: \"ticker\" is a PingSource, which "
                          "sends events and cannot receive them"));
  // A Function that reads a topicsPattern has no one topic to send to either.
  EXPECT_THAT(errors_of("kind: Function\nmetadata: {name: pat}\nspec: {command: cat, "
                        "topicsPattern: 'in-.*'}\n---\n" +
                        parallel(one_branch + "  reply: {ref: {name: pat}}\n")),
              ElementsAre("f.yaml:11:23: p.spec.reply.ref: function \"pat\" has no inputs to "
                          "send to"));
  // Inputs that failed to load are reported once, where they are.
  EXPECT_THAT(errors_of("kind: Function\nmetadata: {name: bad}\nspec: {command: cat, inputs: "
                        "'a/b'}\n---\n" +
                        parallel(one_branch + "  reply: {ref: {name: bad}}\n")),
              ElementsAre(::testing::StartsWith("f.yaml:3:30: bad.spec.inputs: invalid topic "
                                                "name \"a/b\"")));
  // sink-fn runs as a step of seq, so it needs no inputs; but nothing can be sent to it.
  EXPECT_THAT(errors_of(reply("{name: sink-fn}")),
              ElementsAre("f.yaml:19:23: p.spec.reply.ref: function \"sink-fn\" has no inputs to "
                          "send to"));
}

TEST(flow_test, a_function_without_inputs_needs_a_flow_to_run_it) {
  const std::string fn = "kind: Function\nmetadata: {name: worker}\nspec:\n  command: cat\n";
  // Run by a flow: no inputs needed.
  EXPECT_THAT(errors_of(fn + "---\n" + sequence("  steps: [{ref: {name: worker}}]\n")),
              ElementsAre());
  EXPECT_THAT(errors_of(fn + "---\n" +
                        parallel("  branches: [{subscriber: {command: cat}, "
                                 "filter: {ref: {name: worker}}}]\n")),
              ElementsAre());
  // Only a sink: still nothing runs it, and nothing could be sent to it.
  EXPECT_THAT(
      errors_of(fn + "---\n" + parallel(one_branch + "  reply: {ref: {name: worker}}\n")),
      ElementsAre("f.yaml:4:3: worker.spec: one of inputs or topicsPattern is required (or refer "
                  "to it from a Parallel or Sequence)",
                  "f.yaml:12:23: p.spec.reply.ref: function \"worker\" has no inputs to send to"));
  // Unused.
  EXPECT_THAT(errors_of(fn),
              ElementsAre("f.yaml:4:3: worker.spec: one of inputs or topicsPattern is required "
                          "(or refer to it from a Parallel or Sequence)"));
}

TEST(flow_test, flows_must_not_feed_themselves) {
  EXPECT_THAT(errors_of(parallel(one_branch + "  reply: {ref: {name: p}}\n")),
              ElementsAre("f.yaml:7:23: p.spec.reply.ref: refers to this Parallel itself: its "
                          "events would loop forever"));
  EXPECT_THAT(errors_of(parallel(one_branch + "  reply: {topic: p}\n")),
              ElementsAre("f.yaml:7:18: p.spec.reply.topic: sends to "
                          "persistent://public/default/p, this Parallel's own ingress: its events "
                          "would loop forever"));
  EXPECT_THAT(errors_of(parallel("  ingress: in\n  branches:\n    - subscriber: {command: cat}\n"
                                 "    - subscriber: {command: cat}\n"
                                 "      reply: {topic: in-branch-0}\n")),
              ElementsAre("f.yaml:9:22: p.spec.branches[1].reply.topic: sends to "
                          "persistent://public/default/in-branch-0, the channel of this "
                          "Parallel's branch 0: its events would loop forever"));
  EXPECT_THAT(errors_of(parallel("  branches:\n    - subscriber: {command: cat}\n"
                                 "      delivery: {deadLetterSink: {topic: p}}\n")),
              ElementsAre("f.yaml:7:42: p.spec.branches[0].delivery.deadLetterSink.topic: sends "
                          "to persistent://public/default/p, this Parallel's own ingress: its "
                          "events would loop forever"));
  EXPECT_THAT(errors_of(sequence("  steps: [{command: cat}, {command: cat}]\n"
                                 "  reply: {topic: s-step-1}\n")),
              ElementsAre("f.yaml:6:18: s.spec.reply.topic: sends to "
                          "persistent://public/default/s-step-1, the channel of this Sequence's "
                          "step 1: its events would loop forever"));
  EXPECT_THAT(errors_of(sequence("  steps: [{command: cat, delivery: {deadLetterSink: {ref: "
                                 "{name: s}}}}]\n")),
              ElementsAre("f.yaml:5:66: s.spec.steps[0].delivery.deadLetterSink.ref: refers to "
                          "this Sequence itself: its events would loop forever"));
  // Through a Function whose first input is the ingress.
  EXPECT_THAT(errors_of("kind: Function\nmetadata: {name: f}\nspec: {command: cat, inputs: s}\n"
                        "---\n" +
                        sequence("  steps: [{command: cat}]\n  reply: {ref: {name: f}}\n")),
              ElementsAre("f.yaml:10:23: s.spec.reply.ref: sends to "
                          "persistent://public/default/s, this Sequence's own ingress: its events "
                          "would loop forever"));
}

TEST(flow_test, flows_with_one_ingress_would_share_channels) {
  EXPECT_THAT(
      errors_of(parallel("  ingress: in\n" + one_branch) + "---\n" +
                "kind: Parallel\nmetadata: {name: q}\nspec:\n  ingress: in\n" + one_branch),
      ElementsAre("f.yaml:9:1: q.spec.ingress: channel persistent://public/default/in-branch-0 "
                  "is also a channel of Parallel \"p\": give the flows different ingress topics"));
  EXPECT_THAT(
      errors_of(parallel(one_branch) + "---\n" +
                "kind: Sequence\nmetadata: {name: s}\nspec:\n  ingress: p-branch-0\n"
                "  steps: [{command: cat}]\n"),
      ElementsAre("f.yaml:8:1: s.spec.ingress: ingress persistent://public/default/p-branch-0 is "
                  "a channel of Parallel \"p\": give the flows different ingress topics"));
  // One ingress, different channels: a Sequence of one step has none of its own.
  EXPECT_THAT(errors_of(parallel("  ingress: in\n" + one_branch) + "---\n" +
                        "kind: Sequence\nmetadata: {name: s}\nspec:\n  ingress: in\n"
                        "  steps: [{command: cat}]\n"),
              ElementsAre());
}

// ---- cron sources ----------------------------------------------------------------------------

TEST(flow_test, cron_source_defaults_by_kind) {
  for (std::string kind : {"CronSource", "PingSource", "CronJobSource"}) {
    auto f = load_ok(cron("  schedule: '@hourly'\n  sink: {builtin: display}\n", kind));
    ASSERT_EQ(f.cron_sources.size(), 1u) << kind;
    const auto& c = f.cron_sources[0];
    EXPECT_EQ(c.name, "t");
    EXPECT_EQ(c.kind, kind);
    EXPECT_EQ(c.where.line, 1);
    EXPECT_EQ(c.schedule, "@hourly");
    EXPECT_EQ(c.timezone, "");
    EXPECT_EQ(c.data, "");
    EXPECT_EQ(c.content_type, "");
    EXPECT_TRUE(c.extensions.empty());
    EXPECT_EQ(c.sink.type, sink_spec::kind::display);
    if (kind == "CronJobSource") {
      EXPECT_EQ(c.type, "dev.knative.cronjob.event");
      EXPECT_EQ(c.source, "/apis/v1/namespaces/default/cronjobsources/t");
    } else {
      EXPECT_EQ(c.type, "dev.knative.sources.ping");
      EXPECT_EQ(c.source, "/apis/v1/namespaces/default/pingsources/t");
    }
  }
}

TEST(flow_test, cron_source_every_field) {
  auto f = load_ok(cron(R"(  schedule: "0 9 * * MON-FRI"
  timezone: Europe/Berlin
  data: hello
  type: com.example.tick
  source: /ticker
  ceOverrides:
    extensions: {team: ops, tier2: "2"}
  sink: {topic: ticks}
)"));
  ASSERT_EQ(f.cron_sources.size(), 1u);
  const auto& c = f.cron_sources[0];
  EXPECT_EQ(c.schedule, "0 9 * * MON-FRI");
  EXPECT_EQ(c.timezone, "Europe/Berlin");
  EXPECT_EQ(c.data, "hello");
  EXPECT_EQ(c.content_type, "text/plain");  // not JSON
  EXPECT_EQ(c.type, "com.example.tick");
  EXPECT_EQ(c.source, "/ticker");
  EXPECT_EQ(c.extensions,
            (std::vector<std::pair<std::string, std::string>>{{"team", "ops"}, {"tier2", "2"}}));
  EXPECT_EQ(c.sink.topic, "persistent://public/default/ticks");
}

TEST(flow_test, cron_source_data_forms_and_content_types) {
  struct row {
    std::string fields, data, content_type;
  };
  for (const auto& r : std::vector<row>{
           {"  data: '{\"a\": 1}'\n", R"({"a": 1})", "application/json"},
           {"  data: '42'\n", "42", "application/json"},
           {"  data: not json\n", "not json", "text/plain"},
           {"  data: '<x/>'\n  contentType: application/xml\n", "<x/>", "application/xml"},
           {"  dataBase64: aGk=\n", "hi", "application/octet-stream"},
           {"  dataBase64: AAEC/w==\n", std::string("\x00\x01\x02\xff", 4),
            "application/octet-stream"},
           {"  dataBase64: |\n    aGVs\n    bG8=\n", "hello", "application/octet-stream"},
           {"  dataBase64: e30=\n  contentType: 'application/json; charset=utf-8'\n", "{}",
            "application/json; charset=utf-8"},
           {"  jsonData: '{\"b\": [true]}'\n", R"({"b": [true]})", "application/json"},
           {"  contentType: text/csv\n", "", "text/csv"},
       }) {
    auto f = load_ok(cron("  schedule: '@daily'\n  sink: {builtin: display}\n" + r.fields));
    ASSERT_EQ(f.cron_sources.size(), 1u) << r.fields;
    EXPECT_EQ(f.cron_sources[0].data, r.data) << r.fields;
    EXPECT_EQ(f.cron_sources[0].content_type, r.content_type) << r.fields;
  }
}

TEST(flow_test, cron_tz_in_the_schedule_names_the_zone) {
  auto f =
      load_ok(cron("  schedule: 'CRON_TZ=America/New_York 30 6 * * *'\n"
                   "  sink: {builtin: display}\n"));
  ASSERT_EQ(f.cron_sources.size(), 1u);
  EXPECT_EQ(f.cron_sources[0].timezone, "America/New_York");
  EXPECT_EQ(f.cron_sources[0].schedule, "CRON_TZ=America/New_York 30 6 * * *");
  f = load_ok(cron("  schedule: 'TZ=UTC @daily'\n  sink: {builtin: display}\n"));
  EXPECT_EQ(f.cron_sources[0].timezone, "UTC");
}

TEST(flow_test, schedule_errors_point_into_the_schedule) {
  const std::string sink = "  sink: {builtin: display}\n";
  // Column 13 is the opening quote; the minute field "61" starts at column 14.
  EXPECT_THAT(errors_of(cron("  schedule: \"61 * * * *\"\n" + sink)),
              ElementsAre("f.yaml:5:14: t.spec.schedule: minute: 61 is out of range 0-59"));
  // The day-of-week field, in single quotes and without quotes.
  EXPECT_THAT(errors_of(cron("  schedule: '0 0 * * FOO'\n" + sink)),
              ElementsAre("f.yaml:5:22: t.spec.schedule: day-of-week: unknown name \"FOO\""));
  EXPECT_THAT(errors_of(cron("  schedule: 0 0 * * FOO\n" + sink)),
              ElementsAre("f.yaml:5:21: t.spec.schedule: day-of-week: unknown name \"FOO\""));
  // '' is one quote in the value: columns still line up after it (the 61 is at column 33).
  EXPECT_THAT(errors_of(cron("  schedule: 'CRON_TZ=O''Higgins 61 * * * *'\n" + sink)),
              ElementsAre("f.yaml:5:33: t.spec.schedule: minute: 61 is out of range 0-59"));
  EXPECT_THAT(errors_of(cron("  schedule: '0 0 30 2 *'\n" + sink)),
              ElementsAre("f.yaml:5:18: t.spec.schedule: day-of-month: 30 never occurs in "
                          "February, so the schedule never fires"));
  EXPECT_THAT(errors_of(cron("  schedule: '* * * * * *'\n" + sink)),
              ElementsAre("f.yaml:5:24: t.spec.schedule: expected 5 fields, got 6 (a seconds field "
                          "is not supported)"));
  // Escapes in double quotes are not followed: the error points at the string.
  EXPECT_THAT(errors_of(cron("  schedule: \"\\x30 0 * * FOO\"\n" + sink)),
              ElementsAre("f.yaml:5:13: t.spec.schedule: day-of-week: unknown name \"FOO\""));
  // A block scalar is pointed at as a whole.
  EXPECT_THAT(errors_of(cron("  schedule: >-\n    61 * * * *\n" + sink)),
              ElementsAre("f.yaml:5:13: t.spec.schedule: minute: 61 is out of range 0-59"));
  EXPECT_THAT(errors_of(cron(sink)),
              ElementsAre("f.yaml:5:3: t.spec.schedule: required field is missing"));
}

TEST(flow_test, zone_errors) {
  const std::string sink = "  sink: {builtin: display}\n";
  EXPECT_THAT(errors_of(cron("  schedule: '@daily'\n  timezone: Europe/Berlni\n" + sink)),
              ElementsAre(::testing::StartsWith(
                  "f.yaml:6:13: t.spec.timezone: unknown time zone \"Europe/Berlni\"")));
  EXPECT_THAT(errors_of(cron("  schedule: '@daily'\n  timezone: ../etc/passwd\n" + sink)),
              ElementsAre("f.yaml:6:13: t.spec.timezone: invalid time zone name "
                          "\"../etc/passwd\" (expected an IANA name such as \"Europe/Paris\")"));
  // The zone of a CRON_TZ= prefix is pointed at inside the schedule (column 22).
  EXPECT_THAT(errors_of(cron("  schedule: 'CRON_TZ=Mars/Olympus 0 * * * *'\n" + sink)),
              ElementsAre(::testing::StartsWith(
                  "f.yaml:5:22: t.spec.schedule: unknown time zone \"Mars/Olympus\"")));
  EXPECT_THAT(errors_of(cron("  schedule: 'CRON_TZ=UTC 0 * * * *'\n  timezone: UTC\n" + sink)),
              ElementsAre("f.yaml:6:13: t.spec.timezone: the schedule already names a zone "
                          "(CRON_TZ=UTC): give the zone in one place only"));
}

TEST(flow_test, cron_source_errors) {
  const std::string head = "  schedule: '@daily'\n  sink: {builtin: display}\n";  // lines 5-6
  EXPECT_THAT(errors_of(cron("  schedule: '@daily'\n")),
              ElementsAre("f.yaml:5:3: t.spec.sink: required field is missing"));
  EXPECT_THAT(errors_of(cron(head + "  data: a\n  dataBase64: YQ==\n")),
              ElementsAre("f.yaml:8:15: t.spec.dataBase64: give data or dataBase64, not both"));
  EXPECT_THAT(errors_of(cron(head + "  dataBase64: 'aGk%'\n")),
              ElementsAre("f.yaml:7:19: t.spec.dataBase64: invalid base64: unexpected \"%\" at "
                          "offset 3 (expected A-Z, a-z, 0-9, + and /, with = padding at the "
                          "end)"));
  EXPECT_THAT(errors_of(cron(head + "  dataBase64: aGk\n")),
              ElementsAre("f.yaml:7:15: t.spec.dataBase64: invalid base64: 3 characters, not a "
                          "multiple of 4 (is = padding missing?)"));
  EXPECT_THAT(errors_of(cron(head + "  dataBase64: a===\n")),
              ElementsAre("f.yaml:7:16: t.spec.dataBase64: invalid base64: unexpected \"=\" at "
                          "offset 1 (expected A-Z, a-z, 0-9, + and /, with = padding at the "
                          "end)"));
  EXPECT_THAT(errors_of(cron(head + "  dataBase64: YQ==YQ==\n")),
              ElementsAre("f.yaml:7:17: t.spec.dataBase64: invalid base64: unexpected \"=\" at "
                          "offset 2 (expected A-Z, a-z, 0-9, + and /, with = padding at the "
                          "end)"));
  EXPECT_THAT(errors_of(cron(head + "  jsonData: '{oops'\n")),
              ElementsAre("f.yaml:7:13: t.spec.jsonData: not valid JSON"));
  EXPECT_THAT(errors_of(cron(head + "  contentType: json\n")),
              ElementsAre("f.yaml:7:16: t.spec.contentType: invalid media type \"json\": expected "
                          "TYPE/SUBTYPE, e.g. application/json"));
  EXPECT_THAT(errors_of(cron(head + "  type: ''\n  source: ''\n")),
              ElementsAre("f.yaml:7:9: t.spec.type: must not be empty",
                          "f.yaml:8:11: t.spec.source: must not be empty"));
  EXPECT_THAT(
      errors_of(cron(head + "  ceOverrides:\n    extensions:\n"
                            "      Team: a\n      abcdefghijklmnopqrstu: b\n      my-ext: c\n"
                            "      type: d\n      id: e\n      ok: [f]\n")),
      ElementsAre("f.yaml:9:7: t.spec.ceOverrides.extensions.Team: invalid extension name "
                  "\"Team\": expected 1 to 20 lower-case letters and digits",
                  "f.yaml:10:7: t.spec.ceOverrides.extensions.abcdefghijklmnopqrstu: invalid "
                  "extension name \"abcdefghijklmnopqrstu\": expected 1 to 20 lower-case letters "
                  "and digits",
                  "f.yaml:11:7: t.spec.ceOverrides.extensions.my-ext: invalid extension name "
                  "\"my-ext\": expected 1 to 20 lower-case letters and digits",
                  "f.yaml:12:7: t.spec.ceOverrides.extensions.type: \"type\" is a CloudEvents "
                  "context attribute, not an extension (set it with spec.type)",
                  "f.yaml:13:7: t.spec.ceOverrides.extensions.id: \"id\" is a CloudEvents "
                  "context attribute, not an extension",
                  "f.yaml:14:11: t.spec.ceOverrides.extensions.ok: expected a string, got a "
                  "list"));
  EXPECT_THAT(errors_of(cron(head + "  ceOverrides: {extension: {a: b}}\n")),
              ElementsAre("f.yaml:7:17: t.spec.ceOverrides.extension: unknown field (did you mean "
                          "\"extensions\"?)"));
  EXPECT_THAT(errors_of(cron(head + "  sink: {ref: {name: t}}\n")),
              ElementsAre("f.yaml:7:3: t.spec.sink: duplicate key (first given at line 6)"));
  EXPECT_THAT(errors_of(cron("  schedule: '@daily'\n  sink: {ref: {name: t}}\n")),
              ElementsAre("f.yaml:6:22: t.spec.sink.ref: \"t\" is a CronSource, which sends "
                          "events and cannot receive them"));
}

}  // namespace
}  // namespace shfn::config
