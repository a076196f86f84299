#include "k8s/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/spec.h"
#include "k8s/manifest.h"
#include "k8s/tests/render_fixture.h"

namespace shfn::k8s {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view two_functions = R"(# Two functions.
kind: Function
metadata:
  name: upper
spec:
  script: upper.sh
  inputs: [in]
  output: out
  parallelism: 3
  env:
    COUNT: "42"
---
kind: Function
metadata:
  name: lower
spec:
  command: tr A-Z a-z
  inputs: [in2]
  processingGuarantees: EFFECTIVELY_ONCE
  killGraceMs: 2500
  deploy:
    resources:
      requests: {cpu: 250m, memory: 128Mi}
      limits: {cpu: "1", memory: 1Gi}
)";

TEST_F(render_test, one_config_map_service_and_stateful_set_per_function) {
  write("spec.yaml", two_functions, 0644);
  write("upper.sh", "#!/bin/sh\nexec tr a-z A-Z\n");
  auto docs = documents({.image = "registry.example/fns:1.0"});
  ASSERT_EQ(docs.size(), 6u);
  std::vector<std::string> kinds;
  for (const auto& d : docs) kinds.push_back(d["kind"].as<std::string>());
  EXPECT_THAT(kinds, ElementsAre("ConfigMap", "Service", "StatefulSet", "ConfigMap", "Service",
                                 "StatefulSet"));

  auto sts = find(docs, "StatefulSet", "upper");
  EXPECT_EQ(sts["spec"]["replicas"].as<int>(), 3);  // parallelism, spread over pods
  EXPECT_EQ(sts["spec"]["serviceName"].as<std::string>(), "upper");
  EXPECT_EQ(sts["spec"]["podManagementPolicy"].as<std::string>(), "Parallel");
  const auto pod = sts["spec"]["template"]["spec"];
  const auto c = pod["containers"][0];
  EXPECT_EQ(c["image"].as<std::string>(), "registry.example/fns:1.0");
  EXPECT_THAT(strings(c["command"]),
              ElementsAre("tini", "--", "shfn", "run", "/app/spec.yaml", "--admin", "0.0.0.0:8081",
                          "--parallelism", "1", "--drain-timeout", "30"));
  EXPECT_EQ(c["env"][0]["name"].as<std::string>(), "SHFN_URL");
  EXPECT_EQ(c["env"][0]["valueFrom"]["secretKeyRef"]["name"].as<std::string>(), "shfn-pulsar");
  EXPECT_EQ(c["env"][1]["name"].as<std::string>(), "SHFN_TOKEN");
  EXPECT_TRUE(c["env"][1]["valueFrom"]["secretKeyRef"]["optional"].as<bool>());
  EXPECT_EQ(c["env"][2]["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>(), "metadata.name");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(c["resources"]["requests"]["cpu"].as<std::string>(), "100m");  // the defaults
  EXPECT_EQ(c["resources"]["limits"]["memory"].as<std::string>(), "512Mi");
  EXPECT_FALSE(c["resources"]["limits"]["cpu"]);
  EXPECT_TRUE(c["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  EXPECT_THAT(strings(c["securityContext"]["capabilities"]["drop"]), ElementsAre("ALL"));
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_EQ(pod["securityContext"]["runAsUser"].as<int>(), 10001);
  EXPECT_EQ(pod["terminationGracePeriodSeconds"].as<int>(), 30 + 10 + 2);
  const auto annotations = sts["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(annotations["prometheus.io/scrape"].as<std::string>(), "true");
  EXPECT_EQ(annotations["prometheus.io/port"].as<std::string>(), "8081");

  auto svc = find(docs, "Service", "upper");
  EXPECT_EQ(svc["spec"]["clusterIP"].as<std::string>(), "None");
  EXPECT_EQ(svc["spec"]["ports"][0]["name"].as<std::string>(), "admin");
  EXPECT_EQ(svc["spec"]["selector"]["app.kubernetes.io/name"].as<std::string>(), "upper");

  auto lower = find(docs, "StatefulSet", "lower")["spec"]["template"]["spec"];
  EXPECT_EQ(lower["terminationGracePeriodSeconds"].as<int>(), 30 + 10 + 3);  // 2.5 s rounded up
  EXPECT_EQ(lower["containers"][0]["resources"]["limits"]["cpu"].as<std::string>(), "1");
  EXPECT_EQ(lower["containers"][0]["resources"]["requests"]["memory"].as<std::string>(), "128Mi");
}

TEST_F(render_test, each_config_map_holds_its_own_document_which_loads_alone) {
  write("spec.yaml", two_functions, 0644);
  write("upper.sh", "#!/bin/sh\nexec tr a-z A-Z\n");
  auto docs = documents();
  for (std::string name : {"upper", "lower"}) {
    auto cm = find(docs, "ConfigMap", name);
    auto sts = find(docs, "StatefulSet", name);
    const auto spec = mounted(cm, sts, "spec.yaml");
    auto loaded = config::load_string(spec, "spec.yaml", base().string());
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->functions.size(), 1u);
    EXPECT_EQ(loaded->functions[0].name, name);
  }
  auto upper = find(docs, "ConfigMap", "upper");
  EXPECT_EQ(mounted(upper, find(docs, "StatefulSet", "upper"), "upper.sh"),
            "#!/bin/sh\nexec tr a-z A-Z\n");
  // The quoting of the original survives: "42" stays a string, comments stay.
  EXPECT_THAT(upper["data"]["spec.yaml"].as<std::string>(), HasSubstr("COUNT: \"42\""));
  EXPECT_THAT(upper["data"]["spec.yaml"].as<std::string>(), HasSubstr("# Two functions."));
  // An inline command needs no file.
  EXPECT_EQ(find(docs, "ConfigMap", "lower")["data"].size(), 1u);
}

TEST_F(render_test, scripts_in_subdirectories_and_binary_scripts) {
  write("spec.yaml",
        "kind: Function\nmetadata: {name: f}\nspec: {script: lib/run me.sh, inputs: [in], "
        "workingDir: lib}\n---\n"
        "kind: Function\nmetadata: {name: g}\nspec: {script: latin1.sh, inputs: [in]}\n",
        0644);
  write("lib/run me.sh", "#!/bin/sh\ncat\n");
  const std::string latin1 = "#!/bin/sh\n# caf\xE9\ncat\n";
  write("latin1.sh", latin1);
  auto docs = documents();
  auto f = find(docs, "StatefulSet", "f");
  const auto items = f["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"];
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1]["key"].as<std::string>(), "lib_run_me.sh");
  EXPECT_EQ(items[1]["path"].as<std::string>(), "lib/run me.sh");
  EXPECT_EQ(mounted(find(docs, "ConfigMap", "f"), f, "lib/run me.sh"), "#!/bin/sh\ncat\n");

  auto g_cm = find(docs, "ConfigMap", "g");
  EXPECT_TRUE(g_cm["binaryData"]["latin1.sh"]);
  EXPECT_EQ(mounted(g_cm, find(docs, "StatefulSet", "g"), "latin1.sh"), latin1);
}

TEST_F(render_test, config_keys_are_valid_and_unique) {
  std::vector<app_file> files = {
      {.path = "a/b.sh"}, {.path = "a_b.sh"}, {.path = "..hidden"}, {.path = "x y"}};
  EXPECT_THAT(config_keys(files), ElementsAre("a_b.sh", "a_b.sh-2", "_.hidden", "x_y"));
}

TEST_F(render_test, same_input_same_bytes_wherever_it_is_run_from) {
  write("spec.yaml", two_functions, 0644);
  write("upper.sh", "#!/bin/sh\nexec tr a-z A-Z\n");
  auto a = render_file(spec_path(), {.url = "pulsar://pulsar:6650"});
  const auto roundabout = (base() / "sub" / ".." / "spec.yaml").string();
  std::filesystem::create_directories(base() / "sub");
  auto b = render_file(roundabout, {.url = "pulsar://pulsar:6650"});
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->manifests.size(), b->manifests.size());
  for (std::size_t i = 0; i < a->manifests.size(); ++i) {
    EXPECT_EQ(a->manifests[i].name, b->manifests[i].name);
    EXPECT_EQ(a->manifests[i].text, b->manifests[i].text);
  }
  EXPECT_EQ(a->kustomization.text, b->kustomization.text);
}

TEST_F(render_test, the_checksum_follows_the_scripts) {
  write("spec.yaml", two_functions, 0644);
  write("upper.sh", "#!/bin/sh\nexec tr a-z A-Z\n");
  auto checksum = [&] {
    return find(documents(), "StatefulSet",
                "upper")["spec"]["template"]["metadata"]["annotations"]["shfn.dev/config-sha256"]
        .as<std::string>();
  };
  const auto first = checksum();
  EXPECT_EQ(first.size(), 64u);
  EXPECT_EQ(checksum(), first);
  write("upper.sh", "#!/bin/sh\nexec tr a-z A-Z  # changed\n");
  EXPECT_NE(checksum(), first);
}

TEST_F(render_test, url_gives_a_secret_listed_first) {
  write("spec.yaml", two_functions, 0644);
  write("upper.sh", "#!/bin/sh\nexec tr a-z A-Z\n");
  auto r =
      render_file(spec_path(), {.url = "pulsar+ssl://pulsar.example:6651", .secret = "pulsar"});
  ASSERT_TRUE(r) << errors(r);
  ASSERT_EQ(r->manifests.size(), 3u);
  EXPECT_EQ(r->manifests[0].name, "pulsar.secret.yaml");
  auto secret = YAML::Load(r->manifests[0].text);
  EXPECT_EQ(secret["kind"].as<std::string>(), "Secret");
  EXPECT_EQ(secret["stringData"]["url"].as<std::string>(), "pulsar+ssl://pulsar.example:6651");
  EXPECT_FALSE(secret["stringData"]["token"]);
  auto k = YAML::Load(r->kustomization.text);
  EXPECT_THAT(strings(k["resources"]),
              ElementsAre("pulsar.secret.yaml", "upper.yaml", "lower.yaml"));
  // Without --url, nothing but the workloads.
  auto plain = render_file(spec_path(), {});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->manifests.size(), 2u);
}

TEST_F(render_test, what_a_pod_could_not_run_is_an_error_naming_the_field) {
  // A script outside the spec's directory.
  write("../other/outside.sh", "#!/bin/sh\ncat\n");
  write("spec.yaml",
        "kind: Function\nmetadata: {name: f}\nspec: {script: ../other/outside.sh, inputs: [in]}\n",
        0644);
  EXPECT_THAT(render_errors(), ElementsAre(AllOf(HasSubstr("spec.yaml:1:1: f.spec.script: "),
                                                 HasSubstr("outside the spec's directory"))));

  // A working directory the image will not have.
  std::filesystem::create_directories(base() / "../elsewhere");
  write("spec.yaml",
        "kind: Function\nmetadata: {name: f}\nspec: {command: cat, inputs: [in], "
        "workingDir: ../elsewhere}\n",
        0644);
  EXPECT_THAT(render_errors(), ElementsAre(HasSubstr("f.spec.workingDir: ")));
  for (std::string ok : {"/tmp", "sub", "."}) {
    std::filesystem::create_directories(base() / "sub");
    write("spec.yaml",
          "kind: Function\nmetadata: {name: f}\nspec: {command: cat, inputs: [in], "
          "workingDir: " +
              ok + "}\n",
          0644);
    EXPECT_THAT(render_errors(), ElementsAre()) << ok;
  }
}

TEST_F(render_test, names_kubernetes_refuses) {
  const std::string long_name(53, 'a');
  write("spec.yaml",
        "kind: Function\nmetadata: {name: " + long_name +
            "}\nspec: {command: cat, inputs: [a]}\n"
            "---\nkind: Function\nmetadata: {name: 9lives}\nspec: {command: cat, inputs: [b]}\n"
            "---\nkind: Function\nmetadata: {name: kustomization}\nspec: {command: cat, inputs: "
            "[c]}\n",
        0644);
  EXPECT_THAT(render_errors(),
              ElementsAre(HasSubstr("is 53 characters"), HasSubstr("must start with a letter"),
                          HasSubstr("kustomization.yaml")));
}

TEST_F(render_test, requests_above_limits_and_oversized_config_maps) {
  write("spec.yaml",
        "kind: Function\nmetadata: {name: f}\nspec:\n  command: cat\n  inputs: [a]\n"
        "  deploy: {resources: {requests: {memory: 1Gi}}}\n"
        "---\nkind: Function\nmetadata: {name: g}\nspec: {script: big.sh, inputs: [b]}\n",
        0644);
  write("big.sh", "#!/bin/sh\n" + std::string(1 << 20, '#') + "\n");
  EXPECT_THAT(render_errors(),
              ElementsAre(AllOf(HasSubstr("spec.yaml:1:1: f.spec.deploy.resources.requests.memory"),
                                HasSubstr("the request 1Gi is above the limit 512Mi")),
                          HasSubstr("a ConfigMap holds at most 1048576")));
}

TEST_F(render_test, spec_errors_come_as_validate_prints_them) {
  write("spec.yaml", "kind: Function\nmetadata: {name: f}\nspec: {command: cat, inputz: [a]}\n",
        0644);
  auto errors = render_errors();
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors, ::testing::Contains(AllOf(HasSubstr("spec.yaml:3:"),
                                                HasSubstr("f.spec.inputz: unknown field"))));
}

TEST_F(render_test, an_empty_spec_renders_nothing_and_says_so) {
  write("spec.yaml", "# nothing yet\n---\n", 0644);
  EXPECT_THAT(render_errors(),
              ElementsAre(HasSubstr("spec.yaml: no function, flow or cron source to render")));
}

TEST(render_options_test, checks_and_defaults) {
  EXPECT_EQ(check_options({}), "");
  EXPECT_EQ(check_options({.url = "pulsar://h:6650"}), "");
  EXPECT_THAT(check_options({.url = "http://h:8080"}), HasSubstr("invalid --url"));
  EXPECT_THAT(check_options({.url = "pulsar://"}), HasSubstr("invalid --url"));
  EXPECT_THAT(check_options({.secret = "Not_A_Name"}), HasSubstr("invalid --secret"));
  EXPECT_THAT(check_options({.image = "a b"}), HasSubstr("invalid --image"));
  EXPECT_EQ(default_image("examples/reverse/reverse.yaml"), "shfn/reverse:latest");
  EXPECT_EQ(default_image("My Spec.yaml"), "shfn/my-spec:latest");
}

}  // namespace
}  // namespace shfn::k8s
