// Flows and cron sources as workloads: one StatefulSet each, whose ConfigMap holds the flow's
// document, the documents it refers to and their functions' scripts, and whose pods run the
// flow alone.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "config/spec.h"
#include "k8s/tests/render_fixture.h"
#include "k8s/workload.h"

namespace shfn::k8s {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view flows_spec = R"(# Flows.
kind: Function
metadata: {name: even}
spec:
  script: bin/check.sh
  env: {WANT: "even"}
  killGraceMs: 4500
---
kind: Function
metadata: {name: upper}
spec:
  script: upper.sh
  inputs: [upper-in]
  output: upper-out
  parallelism: 2
---
kind: Function
metadata: {name: unused}
spec: {command: cat, inputs: [unused-in]}
---
kind: Parallel
metadata: {name: odd-even}
spec:
  branches:
    - filter: {ref: {name: even}}
      subscriber: {ref: {name: upper}}
    - filter: {exact: {type: odd}}
      subscriber: {command: rev}
  reply: {ref: {kind: Sequence, name: pipeline}}
---
kind: Sequence
metadata: {name: pipeline}
spec:
  steps:
    - ref: {name: upper}
    - ref: {name: mark}
  reply: {topic: done}
---
kind: Function
metadata: {name: mark}
spec:
  script: bin/check.sh
  env: {WANT: "mark"}
  killGraceMs: 1000
---
kind: PingSource
metadata: {name: ping}
spec:
  schedule: "*/1 * * * *"
  data: '{"n": 1}'
  sink: {ref: {kind: Parallel, name: odd-even}}
)";

class flow_test : public render_test {
 protected:
  void SetUp() override {
    write("spec.yaml", flows_spec, 0644);
    write("bin/check.sh", check_sh);
    write("upper.sh", upper_sh);
  }

  // The names of the documents of the spec a workload's pods get, loaded as they load it.
  std::set<std::string> spec_names(const YAML::Node& config_map, const YAML::Node& stateful_set) {
    auto loaded = config::load_string(mounted(config_map, stateful_set, "spec.yaml"), "spec.yaml",
                                      base().string());
    EXPECT_TRUE(loaded);
    std::set<std::string> names;
    if (!loaded) return names;
    for (const auto& fn : loaded->functions) names.insert(fn.name);
    for (const auto& d : config::flow_documents(*loaded)) names.insert(d.name);
    return names;
  }

  static constexpr std::string_view check_sh = "#!/bin/sh\n[ \"$WANT\" ] && cat\n";
  static constexpr std::string_view upper_sh = "#!/bin/sh\nexec tr a-z A-Z\n";
};

TEST_F(flow_test, one_workload_per_flow_and_function_with_inputs_in_document_order) {
  auto docs = documents();
  std::vector<std::string> sets, components;
  for (const auto& d : docs) {
    if (d["kind"].as<std::string>() != "StatefulSet") continue;
    sets.push_back(d["metadata"]["name"].as<std::string>());
    components.push_back(d["metadata"]["labels"]["app.kubernetes.io/component"].as<std::string>());
  }
  // even and mark have no inputs: they run inside the flows' pods only.
  EXPECT_THAT(sets, ElementsAre("upper", "unused", "odd-even", "pipeline", "ping"));
  EXPECT_THAT(components, ElementsAre("function", "function", "flow", "flow", "source"));
  EXPECT_EQ(docs.size(), 3 * sets.size());

  auto r = render_file(spec_path(), {});
  ASSERT_TRUE(r);
  std::vector<std::string> files;
  for (const auto& m : r->manifests) files.push_back(m.name);
  EXPECT_THAT(files, ElementsAre("upper.yaml", "unused.yaml", "odd-even.yaml", "pipeline.yaml",
                                 "ping.yaml"));
  EXPECT_THAT(strings(YAML::Load(r->kustomization.text)["resources"]),
              ElementsAre(files[0], files[1], files[2], files[3], files[4]));
}

TEST_F(flow_test, pods_run_the_flow_alone_with_one_replica) {
  auto docs = documents();
  for (std::string name : {"odd-even", "pipeline", "ping"}) {
    auto sts = find(docs, "StatefulSet", name);
    EXPECT_EQ(sts["spec"]["replicas"].as<int>(), 1) << name;
    const auto c = sts["spec"]["template"]["spec"]["containers"][0];
    EXPECT_THAT(strings(c["command"]), ElementsAre("tini", "--", "shfn", "run", "/app/spec.yaml",
                                                   "--admin", "0.0.0.0:8081", "--parallelism", "1",
                                                   "--drain-timeout", "30", "--only", name))
        << name;
    // The Service selects this workload's pods only: its component is part of the selector.
    const auto component = name == "ping" ? "source" : "flow";
    auto svc = find(docs, "Service", name);
    EXPECT_EQ(svc["spec"]["selector"]["app.kubernetes.io/component"].as<std::string>(), component);
    EXPECT_EQ(sts["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
                  .as<std::string>(),
              component);
    // Resources as a function's by default.
    EXPECT_EQ(c["resources"]["requests"]["cpu"].as<std::string>(), "100m");
    EXPECT_EQ(c["resources"]["requests"]["memory"].as<std::string>(), "64Mi");
    EXPECT_EQ(c["resources"]["limits"]["memory"].as<std::string>(), "512Mi");
  }
  // A function keeps its parallelism as replicas and its command, without --only.
  auto upper = find(docs, "StatefulSet", "upper");
  EXPECT_EQ(upper["spec"]["replicas"].as<int>(), 2);
  EXPECT_THAT(strings(upper["spec"]["template"]["spec"]["containers"][0]["command"]),
              Not(::testing::Contains("--only")));
}

TEST_F(flow_test, a_flow_pod_gets_the_largest_resources_its_steps_ask_for) {
  write("spec.yaml", R"(kind: Function
metadata: {name: light}
spec:
  command: cat
  deploy: {resources: {requests: {cpu: 250m}, limits: {memory: 1Gi}}}
---
kind: Function
metadata: {name: heavy}
spec:
  command: cat
  deploy: {resources: {requests: {cpu: 200m, memory: 256Mi}, limits: {cpu: "2", memory: 256Mi}}}
---
kind: Sequence
metadata: {name: both}
spec:
  steps: [{ref: {name: light}}, {ref: {name: heavy}}]
)",
        0644);
  auto docs = documents();
  const auto r =
      find(docs, "StatefulSet", "both")["spec"]["template"]["spec"]["containers"][0]["resources"];
  EXPECT_EQ(r["requests"]["cpu"].as<std::string>(), "250m");      // light's
  EXPECT_EQ(r["requests"]["memory"].as<std::string>(), "256Mi");  // heavy's
  EXPECT_EQ(r["limits"]["memory"].as<std::string>(), "1Gi");      // light's
  // light sets no CPU limit, and no limit is the largest: the pod gets none.
  EXPECT_FALSE(r["limits"]["cpu"]) << r["limits"];
}

TEST_F(flow_test, a_flows_config_map_holds_what_it_refers_to_and_their_scripts) {
  auto docs = documents();
  // The Parallel: its filter and subscriber, the Sequence its reply names, and that Sequence's
  // steps (the Sequence's document loads only with them).
  auto cm = find(docs, "ConfigMap", "odd-even");
  auto sts = find(docs, "StatefulSet", "odd-even");
  EXPECT_EQ(spec_names(cm, sts),
            (std::set<std::string>{"even", "upper", "odd-even", "pipeline", "mark"}));
  EXPECT_EQ(mounted(cm, sts, "bin/check.sh"), check_sh);  // once, though two functions use it
  EXPECT_EQ(mounted(cm, sts, "upper.sh"), upper_sh);
  EXPECT_EQ(cm["data"].size(), 3u);
  EXPECT_EQ(sts["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"].size(), 3u);
  // Cut out as written: comments and quoting stay, documents in file order.
  const auto text = cm["data"]["spec.yaml"].as<std::string>();
  EXPECT_THAT(text, HasSubstr("# Flows.\n"));
  EXPECT_THAT(text, HasSubstr("env: {WANT: \"even\"}"));
  EXPECT_LT(text.find("name: even"), text.find("name: odd-even"));
  EXPECT_LT(text.find("name: odd-even"), text.find("name: mark"));
  EXPECT_THAT(text, Not(HasSubstr("unused")));
  EXPECT_THAT(text, Not(HasSubstr("ping")));

  auto pipeline = find(docs, "ConfigMap", "pipeline");
  EXPECT_EQ(spec_names(pipeline, find(docs, "StatefulSet", "pipeline")),
            (std::set<std::string>{"upper", "pipeline", "mark"}));
  // The cron source: the Parallel its sink names, and all that Parallel needs.
  auto ping = find(docs, "ConfigMap", "ping");
  EXPECT_EQ(spec_names(ping, find(docs, "StatefulSet", "ping")),
            (std::set<std::string>{"even", "upper", "odd-even", "pipeline", "mark", "ping"}));
  // A function's own pods still get its document alone.
  auto upper = find(docs, "ConfigMap", "upper");
  EXPECT_EQ(spec_names(upper, find(docs, "StatefulSet", "upper")),
            (std::set<std::string>{"upper"}));
}

TEST_F(flow_test, termination_grace_covers_the_scripts_the_flow_runs) {
  auto docs = documents();
  auto grace = [&](const std::string& name) {
    return find(docs, "StatefulSet",
                name)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as<int>();
  };
  EXPECT_EQ(grace("odd-even"), 30 + 10 + 5);  // even's 4.5 s, rounded up
  EXPECT_EQ(grace("pipeline"), 30 + 10 + 2);  // upper's default 2 s beats mark's 1 s
  EXPECT_EQ(grace("ping"), 30 + 10);          // a cron source runs no process
}

TEST_F(flow_test, same_input_same_bytes_and_the_checksum_follows_the_scripts) {
  auto a = render_file(spec_path(), {});
  std::filesystem::create_directories(base() / "sub");
  auto b = render_file((base() / "sub" / ".." / "spec.yaml").string(), {});
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->manifests.size(), b->manifests.size());
  for (std::size_t i = 0; i < a->manifests.size(); ++i)
    EXPECT_EQ(a->manifests[i].text, b->manifests[i].text) << a->manifests[i].name;

  auto checksum = [&](const std::string& name) {
    return find(documents(), "StatefulSet",
                name)["spec"]["template"]["metadata"]["annotations"]["shfn.dev/config-sha256"]
        .as<std::string>();
  };
  const auto pipeline = checksum("pipeline");
  const auto upper = checksum("upper");
  write("bin/check.sh", "#!/bin/sh\ncat  # changed\n");
  EXPECT_NE(checksum("pipeline"), pipeline);  // mark's script
  EXPECT_EQ(checksum("upper"), upper);        // not upper's
}

TEST_F(flow_test, builders_alone) {
  auto spec = config::load_file(spec_path());
  ASSERT_TRUE(spec);
  const std::string source(flows_spec);
  auto functions = function_workloads(*spec, source);
  auto flows = flow_workloads(*spec, source);
  ASSERT_TRUE(functions && flows);
  std::vector<std::string> names;
  for (const auto& w : *functions) names.push_back(w.name + ":" + w.only);
  for (const auto& w : *flows) names.push_back(w.name + ":" + w.only);
  EXPECT_THAT(names, ElementsAre("upper:", "unused:", "odd-even:odd-even", "pipeline:pipeline",
                                 "ping:ping"));
  const auto& ping = flows->back();
  std::vector<std::string> paths;
  for (const auto& f : ping.files) paths.push_back(f.path);
  EXPECT_THAT(paths, ElementsAre("spec.yaml", "bin/check.sh", "upper.sh"));
  EXPECT_EQ(ping.replicas, 1);
  EXPECT_EQ(ping.component, "source");
}

TEST_F(render_test, a_document_after_an_end_marker_keeps_its_own_document_once_cut) {
  // `step` follows a "..." and has no "---": cut next to `seq`, it needs one.
  write("spec.yaml",
        "kind: Sequence\nmetadata: {name: seq}\nspec:\n  steps:\n  - ref: {name: step}\n---\n"
        "kind: Function\nmetadata: {name: other}\nspec: {command: cat, inputs: [x]}\n...\n"
        "kind: Function\nmetadata: {name: step}\nspec: {command: cat}\n",
        0644);
  auto docs = documents();
  auto cm = find(docs, "ConfigMap", "seq");
  const auto text = mounted(cm, find(docs, "StatefulSet", "seq"), "spec.yaml");
  auto loaded = config::load_string(text, "spec.yaml", base().string());
  ASSERT_TRUE(loaded) << text;
  ASSERT_EQ(loaded->sequences.size(), 1u);
  ASSERT_EQ(loaded->functions.size(), 1u);
  EXPECT_EQ(loaded->functions[0].name, "step");
}

TEST_F(render_test, a_flows_function_a_pod_could_not_run_is_reported_once) {
  write("../other/outside.sh", "#!/bin/sh\ncat\n");
  write("spec.yaml",
        "kind: Function\nmetadata: {name: f}\nspec: {script: ../other/outside.sh}\n---\n"
        "kind: Sequence\nmetadata: {name: a}\nspec: {steps: [{ref: {name: f}}]}\n---\n"
        "kind: Parallel\nmetadata: {name: b}\nspec: {branches: [{subscriber: {ref: {name: f}}}]}\n",
        0644);
  EXPECT_THAT(render_errors(), ElementsAre(AllOf(HasSubstr("spec.yaml:1:1: f.spec.script: "),
                                                 HasSubstr("outside the spec's directory"))));
}

TEST_F(render_test, flow_names_kubernetes_refuses) {
  const std::string long_name(53, 's');
  write("spec.yaml",
        "kind: Function\nmetadata: {name: f}\nspec: {command: cat}\n---\n"
        "kind: Sequence\nmetadata: {name: " +
            long_name +
            "}\nspec: {steps: [{ref: {name: f}}]}\n---\n"
            "kind: CronSource\nmetadata: {name: kustomization}\nspec:\n  schedule: '@hourly'\n"
            "  sink: {topic: ticks}\n",
        0644);
  EXPECT_THAT(render_errors(),
              ElementsAre(AllOf(HasSubstr("spec.yaml:5:1: " + long_name + ".metadata.name"),
                                HasSubstr("is 53 characters")),
                          HasSubstr("kustomization.yaml")));
}

}  // namespace
}  // namespace shfn::k8s

namespace shfn::k8s {
namespace {

// A Broker is a workload that runs its Triggers and serves the ingress; a channel likewise with
// its Subscriptions. Triggers and Subscriptions have none of their own.
TEST_F(render_test, brokers_and_channels_serve_the_ingress_with_what_they_route_to) {
  write("spec.yaml", R"(kind: Function
metadata: {name: shout}
spec: {script: shout.sh}
---
kind: Broker
metadata: {name: events, namespace: shop}
---
kind: Trigger
metadata: {name: loud}
spec:
  broker: events
  filters: [{cesql: "type = 'order'"}]
  subscriber: {ref: {kind: Service, name: shout}}
---
kind: InMemoryChannel
metadata: {name: fast}
---
kind: Subscription
metadata: {name: show}
spec:
  channel: {kind: InMemoryChannel, name: fast}
  subscriber: {builtin: display}
)",
        0644);
  write("shout.sh", "#!/bin/sh\nexec tr a-z A-Z\n");
  auto docs = documents();
  std::vector<std::string> sets;
  for (const auto& d : docs)
    if (d["kind"].as<std::string>() == "StatefulSet")
      sets.push_back(d["metadata"]["name"].as<std::string>());
  EXPECT_THAT(sets, ElementsAre("events", "fast"));
  for (std::string name : {"events", "fast"}) {
    auto sts = find(docs, "StatefulSet", name);
    const auto c = sts["spec"]["template"]["spec"]["containers"][0];
    EXPECT_THAT(strings(c["command"]),
                ElementsAre("tini", "--", "shfn", "run", "/app/spec.yaml", "--admin",
                            "0.0.0.0:8081", "--parallelism", "1", "--drain-timeout", "30", "--only",
                            name, "--ingress", "0.0.0.0:8082"));
    EXPECT_EQ(c["ports"][1]["name"].as<std::string>(), "http");
    EXPECT_EQ(c["ports"][1]["containerPort"].as<int>(), 8082);
    auto svc = find(docs, "Service", name);
    EXPECT_EQ(svc["spec"]["ports"][1]["port"].as<int>(), 8082);
  }
  // The Broker's pods get its Trigger and the Function it runs, with its script.
  auto map = find(docs, "ConfigMap", "events");
  EXPECT_EQ(map["metadata"]["labels"]["app.kubernetes.io/component"].as<std::string>(), "broker");
  const auto spec =
      config::load_string(map["data"]["spec.yaml"].as<std::string>(), "spec.yaml", base().string());
  ASSERT_TRUE(spec);
  ASSERT_EQ(spec->triggers.size(), 1u);
  EXPECT_EQ(spec->functions.size(), 1u);
  EXPECT_TRUE(map["data"]["shout.sh"]);
}

// A ContainerSource is a workload of its own, whose pods run its command (from the image's /app)
// and get its sink's Broker document, so that K_SINK has a route on the pod's own ingress.
TEST_F(render_test, a_container_source_runs_its_command_in_a_pod_of_its_own) {
  write("spec.yaml", R"(kind: Broker
metadata: {name: events}
---
kind: ContainerSource
metadata: {name: beats}
spec:
  template: {spec: {containers: [{command: [./beat.sh]}]}}
  sink: {ref: {kind: Broker, name: events}}
)",
        0644);
  write("beat.sh", "#!/bin/sh\necho beat\n");
  auto docs = documents();
  auto sts = find(docs, "StatefulSet", "beats");
  EXPECT_EQ(sts["metadata"]["labels"]["app.kubernetes.io/component"].as<std::string>(), "source");
  const auto pod = sts["spec"]["template"]["spec"];
  EXPECT_THAT(strings(pod["containers"][0]["command"]),
              ElementsAre("tini", "--", "shfn", "run", "/app/spec.yaml", "--admin", "0.0.0.0:8081",
                          "--parallelism", "1", "--drain-timeout", "30", "--only", "beats"));
  // Time for the command's SIGTERM, as a Function's script gets.
  EXPECT_GT(pod["terminationGracePeriodSeconds"].as<int>(), 30);
  const auto spec =
      config::load_string(find(docs, "ConfigMap", "beats")["data"]["spec.yaml"].as<std::string>(),
                          "spec.yaml", base().string());
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->brokers.size(), 1u);
  EXPECT_EQ(spec->command_sources.size(), 1u);
}

}  // namespace
}  // namespace shfn::k8s
