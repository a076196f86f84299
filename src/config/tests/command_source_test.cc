// ContainerSource (sources.knative.dev/v1): the container's command, args, env and workingDir,
// the defaults, the sink, and the errors for what shfn cannot run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/spec.h"
#include "config/tests/test_util.h"

namespace shfn::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using testing::load_ok;
using ::testing::Pair;

constexpr std::string_view heartbeat = R"(apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata:
  name: heartbeat
  namespace: demo
spec:
  template:
    spec:
      containers:
        - name: beats
          command: [./heartbeat.sh]
          args: ["--period=1"]
          env:
            - name: POD_NAME
              value: beats
            - name: EMPTY
  ceOverrides:
    extensions: {team: core}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
---
kind: Broker
metadata: {name: default, namespace: demo}
)";

TEST(command_source_test, the_container_gives_the_command) {
  const spec_file f = load_ok(heartbeat);
  ASSERT_EQ(f.command_sources.size(), 1u);
  const auto& c = f.command_sources[0];
  EXPECT_EQ(c.ns, "demo");
  EXPECT_THAT(c.argv, ElementsAre("./heartbeat.sh", "--period=1"));
  EXPECT_THAT(c.env, ElementsAre(Pair("POD_NAME", "beats"), Pair("EMPTY", "")));
  EXPECT_EQ(c.working_dir, "/");
  EXPECT_EQ(c.source, "/apis/v1/namespaces/demo/containersources/heartbeat");
  EXPECT_THAT(c.extensions, ElementsAre(Pair("team", "core")));
  EXPECT_EQ(c.sink.topic, "persistent://public/default/default");
}

TEST(command_source_test, image_is_refused_by_name) {
  EXPECT_THAT(
      errors_of(R"(kind: ContainerSource
metadata: {name: s}
spec:
  template: {spec: {containers: [{image: gcr.io/knative-releases/heartbeats}]}}
  sink: {topic: out}
)"),
      ElementsAre("f.yaml:4:34: s.spec.template.spec.containers[0]: command is required: shfn "
                  "runs the command itself (the container's image is not used)",
                  "f.yaml:4:42: s.spec.template.spec.containers[0].image: image is not "
                  "supported: shfn runs the container's command itself, on its own host or in the "
                  "pod shfn k8s render makes (where the spec's directory is /app); give command "
                  "(and args) instead"));
}

TEST(command_source_test, what_shfn_cannot_run_is_an_error) {
  EXPECT_THAT(errors_of(R"(kind: ContainerSource
metadata: {name: s}
spec:
  template: {spec: {containers: [{command: [a]}, {command: [b]}]}}
  sink: {topic: out}
)"),
              ElementsAre("f.yaml:4:33: s.spec.template.spec.containers: expected one container, "
                          "got 2: shfn runs one command per source"));
  EXPECT_THAT(errors_of(R"(kind: ContainerSource
metadata: {name: s}
spec:
  template: {spec: {containers: [{command: [], env: [{name: K_SINK, value: x}]}]}}
)"),
              ElementsAre("f.yaml:4:3: s.spec.sink: required field is missing",
                          "f.yaml:4:44: s.spec.template.spec.containers[0].command: expected the "
                          "program to run, then its arguments",
                          "f.yaml:4:61: s.spec.template.spec.containers[0].env[0].name: K_SINK is "
                          "set by shfn, as Knative's SinkBinding sets it"));
}

TEST(command_source_test, a_source_cannot_be_a_sink) {
  EXPECT_THAT(errors_of(R"(kind: ContainerSource
metadata: {name: s}
spec:
  template: {spec: {containers: [{command: [a]}]}}
  sink: {topic: out}
---
kind: PingSource
metadata: {name: p}
spec:
  schedule: "* * * * *"
  sink: {ref: {name: s}}
)"),
              ElementsAre("f.yaml:11:22: p.spec.sink.ref: \"s\" is a ContainerSource, which "
                          "sends events and cannot receive them"));
}

}  // namespace
}  // namespace shfn::config
