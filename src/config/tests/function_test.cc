// kind: Function: every field's happy path and default, the derived subscription type, and each
// kind of error with its exact line, column and field.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/spec.h"
#include "config/tests/test_util.h"

namespace shfn::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using testing::temp_dir;

// A Function named "fn" whose spec is `spec_lines`: they start at line 5.
std::string fn(std::string_view spec_lines) {
  return "kind: Function\nmetadata:\n  name: fn\nspec:\n" + std::string(spec_lines);
}

function_spec load_one(std::string_view yaml, const std::string& base_dir = "/") {
  auto r = load_string(yaml, "f.yaml", base_dir);
  if (!r) {
    for (const auto& e : r.error()) ADD_FAILURE() << e.to_string();
    return {};
  }
  EXPECT_EQ(r->functions.size(), 1u);
  return r->functions.empty() ? function_spec{} : r->functions[0];
}

TEST(function_spec_test, minimal_function_takes_every_default) {
  temp_dir dir;
  auto f = load_one(R"(kind: Function
metadata:
  name: reverse
spec:
  command: rev
  inputs: in
)",
                    dir.str());
  EXPECT_EQ(f.name, "reverse");
  EXPECT_EQ(f.where.file, "f.yaml");
  EXPECT_EQ(f.where.line, 1);
  EXPECT_EQ(f.where.column, 1);
  EXPECT_EQ(f.argv, (std::vector<std::string>{"bash", "-c", "rev", "reverse"}));
  EXPECT_EQ(f.script, "");
  EXPECT_EQ(f.inputs, std::vector<std::string>{"persistent://public/default/in"});
  EXPECT_EQ(f.topics_pattern, "");
  EXPECT_EQ(f.output, "");
  EXPECT_EQ(f.log_topic, "");
  EXPECT_EQ(f.dead_letter_topic, "");
  EXPECT_EQ(f.subscription_name, "reverse");
  EXPECT_EQ(f.subscription, subscription_kind::shared);
  EXPECT_FALSE(f.subscription_explicit);
  EXPECT_FALSE(f.subscription_earliest);
  EXPECT_FALSE(f.retain_ordering);
  EXPECT_FALSE(f.retain_key_ordering);
  EXPECT_EQ(f.guarantees, guarantee::at_least_once);
  EXPECT_EQ(f.parallelism, 1);
  EXPECT_EQ(f.mode, run_mode::exec);
  EXPECT_EQ(f.frames, framing::lines);
  EXPECT_EQ(f.input, input_style::stdin_only);
  EXPECT_EQ(f.timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(f.kill_grace, std::chrono::milliseconds(2000));
  EXPECT_EQ(f.max_message_retries, 3);
  EXPECT_EQ(f.max_output_bytes, 5u << 20);
  EXPECT_TRUE(f.output_batching.enabled);  // as Pulsar Functions: on, 10 ms
  EXPECT_EQ(f.output_batching.max_publish_delay, std::chrono::milliseconds(10));
  EXPECT_EQ(f.output_batching.max_messages, 1000);
  EXPECT_EQ(f.output_batching.max_bytes, 128u * 1024);
  EXPECT_EQ(f.user_config, nlohmann::json::object());
  EXPECT_TRUE(f.env.empty());
  EXPECT_EQ(f.working_dir, dir.str());
}

TEST(function_spec_test, every_field_is_read) {
  temp_dir dir;
  dir.write("work/.keep", "");
  auto f = load_one(fn(R"(  command: ["/usr/bin/tr", "a-z", "A-Z"]
  inputs: [a, my-tenant/my-ns/b, "non-persistent://t/n/c"]
  output: out
  logTopic: persistent://t/n/logs
  deadLetterTopic: dlq
  subscriptionName: sub-1
  subscriptionType: Failover
  subscriptionPosition: Earliest
  retainOrdering: true
  processingGuarantees: ATMOST_ONCE
  parallelism: 8
  mode: stream
  framing: length-prefixed
  input: stdin
  timeoutMs: 0
  maxMessageRetries: 0
  maxOutputBytes: 1024
  killGraceMs: 50
  userConfig:
    greeting: hello
  env:
    LANG: C.UTF-8
    _x1: "1"
  workingDir: work
)"),
                    dir.str());
  EXPECT_EQ(f.argv, (std::vector<std::string>{"/usr/bin/tr", "a-z", "A-Z"}));
  EXPECT_EQ(f.inputs,
            (std::vector<std::string>{"persistent://public/default/a",
                                      "persistent://my-tenant/my-ns/b", "non-persistent://t/n/c"}));
  EXPECT_EQ(f.output, "persistent://public/default/out");
  EXPECT_EQ(f.log_topic, "persistent://t/n/logs");
  EXPECT_EQ(f.dead_letter_topic, "persistent://public/default/dlq");
  EXPECT_EQ(f.subscription_name, "sub-1");
  EXPECT_EQ(f.subscription, subscription_kind::failover);
  EXPECT_TRUE(f.subscription_explicit);
  EXPECT_TRUE(f.subscription_earliest);
  EXPECT_TRUE(f.retain_ordering);
  EXPECT_EQ(f.guarantees, guarantee::at_most_once);
  EXPECT_EQ(f.parallelism, 8);
  EXPECT_EQ(f.mode, run_mode::stream);
  EXPECT_EQ(f.frames, framing::length_prefixed);
  EXPECT_EQ(f.input, input_style::stdin_only);
  EXPECT_EQ(f.timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(f.max_message_retries, 0);
  EXPECT_EQ(f.max_output_bytes, 1024u);
  EXPECT_EQ(f.kill_grace, std::chrono::milliseconds(50));
  EXPECT_EQ(f.user_config, (nlohmann::json{{"greeting", "hello"}}));
  EXPECT_EQ(f.env,
            (std::vector<std::pair<std::string, std::string>>{{"LANG", "C.UTF-8"}, {"_x1", "1"}}));
  EXPECT_EQ(f.working_dir, (dir.path() / "work").string());
}

TEST(function_spec_test, input_arg_and_partitioned_topics) {
  auto f = load_one(fn(R"(  command: 'printf %s "$1" | rev'
  input: arg
  inputs:
    - in-partition-3
  output: persistent://public/default/out
)"));
  EXPECT_EQ(f.input, input_style::arg);
  // bash -c STRING NAME: the payload appended by the runtime becomes $1.
  EXPECT_EQ(f.argv, (std::vector<std::string>{"bash", "-c", R"(printf %s "$1" | rev)", "fn"}));
  EXPECT_EQ(f.inputs, std::vector<std::string>{"persistent://public/default/in-partition-3"});
  EXPECT_EQ(f.output, "persistent://public/default/out");
}

TEST(function_spec_test, stream_framings) {
  for (auto [text, expected] : {std::pair{"lines", framing::lines}, std::pair{"NUL", framing::nul},
                                std::pair{"length-prefixed", framing::length_prefixed}}) {
    auto f = load_one(
        fn("  command: cat\n  inputs: in\n  mode: stream\n  framing: " + std::string(text) + "\n"));
    EXPECT_EQ(f.frames, expected) << text;
  }
}

TEST(function_spec_test, topics_pattern_is_expanded_and_kept_as_given) {
  auto f = load_one(fn("  command: cat\n  topicsPattern: 'orders-.*'\n"));
  EXPECT_TRUE(f.inputs.empty());
  EXPECT_EQ(f.topics_pattern, "persistent://public/default/orders-.*");
  EXPECT_EQ(f.topics_pattern_given, "orders-.*");

  f =
      load_one(fn("  command: cat\n  topicsPattern: 'non-persistent://t/ns/x[0-9]+'\n"
                  "  inputs: [a]\n"));
  EXPECT_EQ(f.topics_pattern, "non-persistent://t/ns/x[0-9]+");
  EXPECT_EQ(f.inputs, std::vector<std::string>{"persistent://public/default/a"});

  f = load_one(fn("  command: cat\n  topicsPattern: 't/ns/(a|b)'\n"));
  EXPECT_EQ(f.topics_pattern, "persistent://t/ns/(a|b)");
}

TEST(function_spec_test, topics_pattern_errors) {
  EXPECT_THAT(
      errors_of(fn("  command: cat\n  topicsPattern: 'orders-(.*'\n")),
      ElementsAre(::testing::StartsWith(
          "f.yaml:6:18: fn.spec.topicsPattern: invalid regular expression \"orders-(.*\": ")));
  EXPECT_THAT(
      errors_of(fn("  command: cat\n  topicsPattern: 'bad tenant/ns/x.*'\n")),
      ElementsAre("f.yaml:6:18: fn.spec.topicsPattern: invalid topics pattern \"bad "
                  "tenant/ns/x.*\": expected REGEX or persistent://TENANT/NAMESPACE/REGEX"));
  EXPECT_THAT(errors_of(fn("  command: cat\n  topicsPattern: 'http://t/ns/x'\n")),
              ElementsAre(::testing::HasSubstr("invalid topics pattern")));
}

TEST(function_spec_test, subscription_type_is_derived_as_pulsar_functions_does) {
  struct row {
    std::string fields;
    subscription_kind expected;
  };
  for (const auto& r : std::vector<row>{
           {"", subscription_kind::shared},
           {"  retainOrdering: true\n", subscription_kind::failover},
           {"  retainKeyOrdering: true\n", subscription_kind::key_shared},
           {"  processingGuarantees: EFFECTIVELY_ONCE\n", subscription_kind::failover},
           {"  processingGuarantees: effectively_once\n  retainKeyOrdering: true\n",
            subscription_kind::failover},
           {"  processingGuarantees: ATMOST_ONCE\n", subscription_kind::shared},
           {"  retainOrdering: false\n  retainKeyOrdering: false\n", subscription_kind::shared},
       }) {
    auto f = load_one(fn("  command: cat\n  inputs: in\n" + r.fields));
    EXPECT_EQ(f.subscription, r.expected) << r.fields;
    EXPECT_FALSE(f.subscription_explicit);
  }
}

TEST(function_spec_test, explicit_subscription_type_is_case_insensitive) {
  for (auto [text, expected] : {std::pair{"exclusive", subscription_kind::exclusive},
                                std::pair{"SHARED", subscription_kind::shared},
                                std::pair{"Failover", subscription_kind::failover},
                                std::pair{"key_shared", subscription_kind::key_shared}}) {
    auto f = load_one(
        fn("  command: cat\n  inputs: in\n  subscriptionType: " + std::string(text) + "\n"));
    EXPECT_EQ(f.subscription, expected) << text;
    EXPECT_TRUE(f.subscription_explicit);
  }
  // Compatible with the ordering asked for: no error.
  EXPECT_EQ(load_one(fn("  command: cat\n  inputs: in\n  retainKeyOrdering: true\n"
                        "  subscriptionType: Exclusive\n"))
                .subscription,
            subscription_kind::exclusive);
}

TEST(function_spec_test, explicit_subscription_type_contradicting_ordering_is_an_error) {
  EXPECT_THAT(errors_of(fn(R"(  command: cat
  inputs: in
  retainOrdering: true
  subscriptionType: Shared
)")),
              ElementsAre("f.yaml:8:21: fn.spec.subscriptionType: Shared does not keep messages "
                          "in order: retainOrdering needs Failover or Exclusive"));
  EXPECT_THAT(errors_of(fn(R"(  command: cat
  inputs: in
  processingGuarantees: EFFECTIVELY_ONCE
  subscriptionType: Key_Shared
)")),
              ElementsAre("f.yaml:8:21: fn.spec.subscriptionType: EFFECTIVELY_ONCE needs a single "
                          "active consumer: Failover or Exclusive, not Key_Shared"));
  EXPECT_THAT(errors_of(fn(R"(  command: cat
  inputs: in
  retainKeyOrdering: true
  subscriptionType: shared
)")),
              ElementsAre("f.yaml:8:21: fn.spec.subscriptionType: Shared does not keep messages "
                          "of a key in order: retainKeyOrdering needs Key_Shared, Failover or "
                          "Exclusive"));
}

TEST(function_spec_test, both_orderings_is_an_error) {
  EXPECT_THAT(errors_of(fn(R"(  command: cat
  inputs: in
  retainOrdering: true
  retainKeyOrdering: true
)")),
              ElementsAre("f.yaml:8:22: fn.spec.retainKeyOrdering: retainOrdering and "
                          "retainKeyOrdering cannot both be true"));
}

TEST(function_spec_test, exclusive_subscription_admits_one_instance) {
  EXPECT_THAT(errors_of(fn(R"(  command: cat
  inputs: in
  subscriptionType: Exclusive
  parallelism: 2
)")),
              ElementsAre("f.yaml:8:16: fn.spec.parallelism: an Exclusive subscription admits "
                          "one consumer, so parallelism must be 1, not 2"));
}

TEST(function_spec_test, guarantees_are_case_insensitive_and_checked) {
  EXPECT_EQ(load_one(fn("  command: cat\n  inputs: in\n  processingGuarantees: atleast_once\n"))
                .guarantees,
            guarantee::at_least_once);
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  processingGuarantees: ATLEAST-ONCE\n")),
              ElementsAre("f.yaml:7:25: fn.spec.processingGuarantees: expected ATLEAST_ONCE, "
                          "ATMOST_ONCE or EFFECTIVELY_ONCE, got \"ATLEAST-ONCE\" (did you mean "
                          "\"ATLEAST_ONCE\"?)"));
}

TEST(function_spec_test, mode_framing_and_input_must_agree) {
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  framing: nul\n")),
              ElementsAre("f.yaml:7:12: fn.spec.framing: framing applies to mode: stream only "
                          "(this function is mode: exec)"));
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  mode: stream\n  input: arg\n")),
              ElementsAre("f.yaml:8:10: fn.spec.input: input: arg is only allowed in mode: exec "
                          "(a stream worker is long-lived)"));
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  mode: batch\n")),
              ElementsAre("f.yaml:7:9: fn.spec.mode: expected exec or stream, got \"batch\""));
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  mode: stream\n  framing: null0\n")),
              ElementsAre("f.yaml:8:12: fn.spec.framing: expected lines, nul or "
                          "length-prefixed, got \"null0\" (did you mean \"nul\"?)"));
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  subscriptionPosition: First\n")),
              ElementsAre("f.yaml:7:25: fn.spec.subscriptionPosition: expected Latest or "
                          "Earliest, got \"First\""));
}

TEST(function_spec_test, integers_are_typed_and_ranged) {
  const std::string head = "  command: cat\n  inputs: in\n";
  EXPECT_THAT(errors_of(fn(head + "  timeoutMs: {a: 1}\n")),
              ElementsAre("f.yaml:7:14: fn.spec.timeoutMs: expected an integer, got a mapping"));
  EXPECT_THAT(errors_of(fn(head + "  timeoutMs: [1]\n")),
              ElementsAre("f.yaml:7:14: fn.spec.timeoutMs: expected an integer, got a list"));
  EXPECT_THAT(errors_of(fn(head + "  timeoutMs: \"100\"\n")),
              ElementsAre("f.yaml:7:14: fn.spec.timeoutMs: expected an integer, got the string "
                          "\"100\""));
  EXPECT_THAT(errors_of(fn(head + "  timeoutMs: 1.5\n")),
              ElementsAre("f.yaml:7:14: fn.spec.timeoutMs: expected an integer, got \"1.5\""));
  EXPECT_THAT(errors_of(fn(head + "  timeoutMs: -1\n")),
              ElementsAre("f.yaml:7:14: fn.spec.timeoutMs: must be between 0 and 2147483647, "
                          "got -1"));
  EXPECT_THAT(errors_of(fn(head + "  parallelism: 0\n")),
              ElementsAre("f.yaml:7:16: fn.spec.parallelism: must be between 1 and 1024, got 0"));
  EXPECT_THAT(errors_of(fn(head + "  parallelism: 1025\n")),
              ElementsAre("f.yaml:7:16: fn.spec.parallelism: must be between 1 and 1024, got "
                          "1025"));
  EXPECT_THAT(errors_of(fn(head + "  maxOutputBytes: 0\n")),
              ElementsAre("f.yaml:7:19: fn.spec.maxOutputBytes: must be between 1 and "
                          "2147483647, got 0"));
  EXPECT_THAT(errors_of(fn(head + "  maxMessageRetries: 99999999999999999999\n")),
              ElementsAre("f.yaml:7:22: fn.spec.maxMessageRetries: must be between 0 and "
                          "2147483647, got 99999999999999999999"));
  EXPECT_EQ(load_one(fn(head + "  parallelism: 0x10\n")).parallelism, 16);
  EXPECT_EQ(load_one(fn(head + "  parallelism: 1024\n")).parallelism, 1024);
}

TEST(function_spec_test, producer_batching_config) {
  const std::string head = "  command: cat\n  inputs: in\n";
  auto f = load_one(fn(head + R"(  producerConfig:
    batchingConfig:
      batchingMaxPublishDelayMs: 1
      batchingMaxMessages: 50
      batchingMaxBytes: 65536
)"));
  EXPECT_TRUE(f.output_batching.enabled);
  EXPECT_EQ(f.output_batching.max_publish_delay, std::chrono::milliseconds(1));
  EXPECT_EQ(f.output_batching.max_messages, 50);
  EXPECT_EQ(f.output_batching.max_bytes, 65536u);
  EXPECT_FALSE(load_one(fn(head + "  producerConfig: {batchingConfig: {enabled: false}}\n"))
                   .output_batching.enabled);

  EXPECT_THAT(
      errors_of(fn(head + "  producerConfig: {batchingConfig: {batchingMaxMessages: 0}}\n")),
      ElementsAre("f.yaml:7:58: fn.spec.producerConfig.batchingConfig.batchingMaxMessages: "
                  "must be between 1 and 2147483647, got 0"));
  EXPECT_THAT(errors_of(fn(head + "  producerConfig: {batchingConfig: {maxDelay: 5}}\n")),
              ElementsAre("f.yaml:7:37: fn.spec.producerConfig.batchingConfig.maxDelay: unknown "
                          "field"));
  // EFFECTIVELY_ONCE publishes every output alone: a batching setting there would be ignored.
  EXPECT_THAT(errors_of(fn(head + "  processingGuarantees: EFFECTIVELY_ONCE\n"
                                  "  producerConfig:\n    batchingConfig: {enabled: true}\n")),
              ElementsAre("f.yaml:9:21: fn.spec.producerConfig.batchingConfig: does not apply to "
                          "EFFECTIVELY_ONCE, which publishes every output on its own"));
}

TEST(function_spec_test, booleans_are_true_or_false) {
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  retainOrdering: yes\n")),
              ElementsAre("f.yaml:7:19: fn.spec.retainOrdering: expected true or false, got "
                          "\"yes\""));
  EXPECT_TRUE(
      load_one(fn("  command: cat\n  inputs: in\n  retainOrdering: True\n")).retain_ordering);
}

TEST(function_spec_test, user_config_converts_scalars_sensibly) {
  auto f = load_one(fn(R"(  command: cat
  inputs: in
  userConfig:
    count: 3
    negative: -7
    hex: 0x1f
    ratio: 0.25
    exponent: 1e3
    on: true
    off: False
    nothing: null
    tilde: ~
    empty:
    text: hello world
    quoted_number: "42"
    single_quoted: 'true'
    tagged: !!str 5
    version: 1.2.3
    infinity: .inf
    huge: 18446744073709551615
    nested:
      list: [1, two, {three: 3}]
      map: {a: {b: [true]}}
)"));
  const nlohmann::json expected = {{"count", 3},
                                   {"negative", -7},
                                   {"hex", 31},
                                   {"ratio", 0.25},
                                   {"exponent", 1000.0},
                                   {"on", true},
                                   {"off", false},
                                   {"nothing", nullptr},
                                   {"tilde", nullptr},
                                   {"empty", nullptr},
                                   {"text", "hello world"},
                                   {"quoted_number", "42"},
                                   {"single_quoted", "true"},
                                   {"tagged", "5"},
                                   {"version", "1.2.3"},
                                   {"infinity", ".inf"},
                                   {"huge", 18446744073709551615ull},
                                   {"nested",
                                    {{"list", nlohmann::json::array({1, "two", {{"three", 3}}})},
                                     {"map", {{"a", {{"b", nlohmann::json::array({true})}}}}}}}};
  EXPECT_EQ(f.user_config, expected) << f.user_config.dump();
  EXPECT_TRUE(f.user_config["count"].is_number_integer());
  EXPECT_TRUE(f.user_config["ratio"].is_number_float());
}

TEST(function_spec_test, user_config_errors) {
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  userConfig: [1, 2]\n")),
              ElementsAre("f.yaml:7:15: fn.spec.userConfig: expected a mapping, got a list"));
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  userConfig:\n    a: 1\n    a: 2\n")),
              ElementsAre("f.yaml:9:5: fn.spec.userConfig.a: duplicate key (first given at line "
                          "8)"));
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  userConfig:\n    ? [k]\n    : v\n")),
              ElementsAre("f.yaml:8:7: fn.spec.userConfig: keys must be strings, got a list as "
                          "a key"));
}

TEST(function_spec_test, env_names_and_values) {
  auto f = load_one(fn(R"(  command: cat
  inputs: in
  env:
    B: 2
    A: true
    EMPTY:
    PATHS: /usr/bin:/bin
)"));
  EXPECT_EQ(f.env, (std::vector<std::pair<std::string, std::string>>{
                       {"B", "2"}, {"A", "true"}, {"EMPTY", ""}, {"PATHS", "/usr/bin:/bin"}}));

  EXPECT_THAT(errors_of(fn(R"(  command: cat
  inputs: in
  env:
    1BAD: x
    SHFN_TOPIC: x
    GOOD-NOT: x
    LIST: [1]
)")),
              ElementsAre("f.yaml:8:5: fn.spec.env.1BAD: invalid environment variable name: "
                          "expected [A-Za-z_][A-Za-z0-9_]*",
                          "f.yaml:9:5: fn.spec.env.SHFN_TOPIC: names starting with SHFN_ are "
                          "reserved for the runtime",
                          "f.yaml:10:5: fn.spec.env.GOOD-NOT: invalid environment variable name: "
                          "expected [A-Za-z_][A-Za-z0-9_]*",
                          "f.yaml:11:11: fn.spec.env.LIST: expected a string, got a list"));
}

TEST(function_spec_test, working_dir_must_be_a_directory) {
  temp_dir dir;
  dir.write("file", "");
  EXPECT_THAT(
      errors_of(fn("  command: cat\n  inputs: in\n  workingDir: file\n"), dir.str()),
      ElementsAre("f.yaml:7:15: fn.spec.workingDir: " + dir.str() + "/file is not a directory"));
  EXPECT_THAT(
      errors_of(fn("  command: cat\n  inputs: in\n  workingDir: nope/../x\n"), dir.str()),
      ElementsAre("f.yaml:7:15: fn.spec.workingDir: " + dir.str() + "/x is not a directory"));
  // Absolute paths stay as they are.
  EXPECT_EQ(
      load_one(fn("  command: cat\n  inputs: in\n  workingDir: /tmp\n"), dir.str()).working_dir,
      "/tmp");
}

TEST(function_spec_test, script_is_resolved_against_the_spec_directory) {
  temp_dir dir;
  dir.write("bin/reverse.sh", "#!/bin/bash\nrev\n", 0755);
  auto f = load_one(fn("  script: bin/reverse.sh\n  inputs: in\n"), dir.str());
  EXPECT_EQ(f.script, dir.str() + "/bin/reverse.sh");
  EXPECT_EQ(f.argv, std::vector<std::string>{dir.str() + "/bin/reverse.sh"});
  f = load_one(fn("  script: ./bin/../bin/reverse.sh\n  inputs: in\n"), dir.str());
  EXPECT_EQ(f.script, dir.str() + "/bin/reverse.sh");
}

TEST(function_spec_test, deploy_packages_and_resources) {
  auto f =
      load_one(fn("  command: jq .\n  inputs: in\n  deploy:\n    packages: [jq, libc6-dev]\n"
                  "    resources:\n      requests: {cpu: 250m, memory: 32Mi}\n"
                  "      limits: {cpu: 1, memory: 1.5Gi}\n"));
  EXPECT_EQ(f.deploy.packages, (std::vector<std::string>{"jq", "libc6-dev"}));
  EXPECT_EQ(f.deploy.requests.cpu, "250m");
  EXPECT_EQ(f.deploy.requests.memory, "32Mi");
  EXPECT_EQ(f.deploy.limits.cpu, "1");
  EXPECT_EQ(f.deploy.limits.memory, "1.5Gi");
  // Defaults: small requests, a memory limit, no CPU limit (throttling hurts spawning).
  auto d = load_one(fn("  command: cat\n  inputs: in\n"));
  EXPECT_TRUE(d.deploy.packages.empty());
  EXPECT_EQ(d.deploy.requests.cpu, "100m");
  EXPECT_EQ(d.deploy.limits.cpu, "");
  EXPECT_EQ(d.deploy.limits.memory, "512Mi");

  EXPECT_THAT(
      errors_of(fn("  command: cat\n  inputs: in\n  deploy:\n    packages: [Bad_Name]\n"
                   "    resources:\n      limits: {memory: lots}\n      request: {}\n")),
      ElementsAre("f.yaml:8:16: fn.spec.deploy.packages[0]: invalid Debian package name "
                  "\"Bad_Name\"",
                  "f.yaml:10:24: fn.spec.deploy.resources.limits.memory: invalid quantity "
                  "\"lots\": expected a number with an optional suffix (100m, 0.5, 64Mi, 1G)",
                  "f.yaml:11:7: fn.spec.deploy.resources.request: unknown field (did you mean "
                  "\"requests\"?)"));
}

TEST(function_spec_test, script_must_exist_and_be_executable) {
  temp_dir dir;
  dir.write("plain.sh", "rev\n", 0644);
  dir.write("sub/.keep", "");
  EXPECT_THAT(errors_of(fn("  script: plain.sh\n  inputs: in\n"), dir.str()),
              ElementsAre("f.yaml:5:11: fn.spec.script: " + dir.str() +
                          "/plain.sh is not executable (chmod +x it)"));
  EXPECT_THAT(
      errors_of(fn("  script: missing.sh\n  inputs: in\n"), dir.str()),
      ElementsAre("f.yaml:5:11: fn.spec.script: " + dir.str() + "/missing.sh does not exist"));
  EXPECT_THAT(
      errors_of(fn("  script: sub\n  inputs: in\n"), dir.str()),
      ElementsAre("f.yaml:5:11: fn.spec.script: " + dir.str() + "/sub is not a regular file"));
}

TEST(function_spec_test, exactly_one_of_command_and_script) {
  EXPECT_THAT(errors_of(fn("  inputs: in\n  output: out\n")),
              ElementsAre("f.yaml:5:3: fn.spec: one of command or script is required"));
  EXPECT_THAT(errors_of(fn("  command: cat\n  script: x.sh\n  inputs: in\n")),
              ElementsAre("f.yaml:6:11: fn.spec.script: give either command or script, not "
                          "both"));
  EXPECT_THAT(errors_of(fn("  command: ''\n  inputs: in\n")),
              ElementsAre("f.yaml:5:12: fn.spec.command: must not be empty"));
  EXPECT_THAT(errors_of(fn("  command: []\n  inputs: in\n")),
              ElementsAre("f.yaml:5:12: fn.spec.command: must list at least the program to run"));
  EXPECT_THAT(errors_of(fn("  command: {run: x}\n  inputs: in\n")),
              ElementsAre("f.yaml:5:12: fn.spec.command: expected a string or a list of "
                          "strings, got a mapping"));
  EXPECT_THAT(errors_of(fn("  command:\n    - cat\n    - [x]\n  inputs: in\n")),
              ElementsAre("f.yaml:7:7: fn.spec.command[1]: expected a string, got a list"));
}

TEST(function_spec_test, inputs_are_required_and_checked) {
  EXPECT_THAT(errors_of(fn("  command: cat\n  output: out\n")),
              ElementsAre("f.yaml:5:3: fn.spec: one of inputs or topicsPattern is required (or "
                          "refer to it from a Parallel or Sequence)"));
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: []\n")),
              ElementsAre("f.yaml:6:11: fn.spec.inputs: must list at least one topic"));
  EXPECT_THAT(
      errors_of(fn("  command: cat\n  inputs:\n    - good\n    - 'a/b'\n    - in\n    - in\n")),
      ElementsAre("f.yaml:8:7: fn.spec.inputs[1]: invalid topic name \"a/b\": expected NAME, "
                  "TENANT/NAMESPACE/NAME or persistent://TENANT/NAMESPACE/NAME",
                  "f.yaml:10:7: fn.spec.inputs[3]: persistent://public/default/in is listed "
                  "twice"));
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: {a: b}\n")),
              ElementsAre("f.yaml:6:11: fn.spec.inputs: expected a list, got a mapping"));
}

TEST(function_spec_test, a_function_cannot_consume_what_it_produces) {
  EXPECT_THAT(errors_of(fn(R"(  command: cat
  inputs: [in]
  output: persistent://public/default/in
  logTopic: in
)")),
              ElementsAre("f.yaml:7:11: fn.spec.output: persistent://public/default/in is also "
                          "an input: the function would consume its own output",
                          "f.yaml:8:13: fn.spec.logTopic: persistent://public/default/in is also "
                          "an input: the function would consume its own messages"));
}

TEST(function_spec_test, null_means_absent) {
  auto f = load_one(fn("  command: cat\n  inputs: in\n  output:\n  timeoutMs: ~\n"));
  EXPECT_EQ(f.output, "");
  EXPECT_EQ(f.timeout, std::chrono::milliseconds(30000));
}

TEST(function_spec_test, unknown_fields_suggest_the_closest_known_one) {
  EXPECT_THAT(errors_of(fn(R"(  command: cat
  inputs: in
  maxMessageRetry: 5
  ouptut: out
  TimeoutMS: 5
  frobnicate: 1
)")),
              ElementsAre("f.yaml:7:3: fn.spec.maxMessageRetry: unknown field (did you mean "
                          "\"maxMessageRetries\"?)",
                          "f.yaml:8:3: fn.spec.ouptut: unknown field (did you mean \"output\"?)",
                          "f.yaml:9:3: fn.spec.TimeoutMS: unknown field (did you mean "
                          "\"timeoutMs\"?)",
                          "f.yaml:10:3: fn.spec.frobnicate: unknown field"));
}

TEST(function_spec_test, duplicate_keys_are_errors) {
  EXPECT_THAT(errors_of(fn("  command: cat\n  inputs: in\n  output: a\n  output: b\n")),
              ElementsAre("f.yaml:8:3: fn.spec.output: duplicate key (first given at line 7)"));
}

TEST(function_spec_test, every_error_of_a_document_is_collected) {
  EXPECT_THAT(errors_of(R"(kind: Function
metadata:
  name: many
spec:
  command: [cat, {x: 1}]
  inputs: [ok, "", b]
  parallelism: many
  mode: stream
  framing: nul
  input: arg
  timeoutMs: -5
  userConfig: 3
)"),
              ElementsAre("f.yaml:5:18: many.spec.command[1]: expected a string, got a mapping",
                          "f.yaml:6:16: many.spec.inputs[1]: invalid topic name \"\": expected "
                          "NAME, TENANT/NAMESPACE/NAME or persistent://TENANT/NAMESPACE/NAME",
                          "f.yaml:7:16: many.spec.parallelism: expected an integer, got \"many\"",
                          "f.yaml:10:10: many.spec.input: input: arg is only allowed in mode: "
                          "exec (a stream worker is long-lived)",
                          "f.yaml:11:14: many.spec.timeoutMs: must be between 0 and 2147483647, "
                          "got -5",
                          "f.yaml:12:15: many.spec.userConfig: expected a mapping, got \"3\""));
}

TEST(function_spec_test, spec_must_be_a_mapping) {
  EXPECT_THAT(errors_of("kind: Function\nmetadata:\n  name: fn\nspec: [command]\n"),
              ElementsAre("f.yaml:4:7: fn.spec: expected a mapping, got a list"));
}

TEST(function_spec_test, enum_spellings) {
  EXPECT_EQ(to_string(guarantee::at_least_once), "ATLEAST_ONCE");
  EXPECT_EQ(to_string(guarantee::at_most_once), "ATMOST_ONCE");
  EXPECT_EQ(to_string(guarantee::effectively_once), "EFFECTIVELY_ONCE");
  EXPECT_EQ(to_string(subscription_kind::exclusive), "Exclusive");
  EXPECT_EQ(to_string(subscription_kind::shared), "Shared");
  EXPECT_EQ(to_string(subscription_kind::failover), "Failover");
  EXPECT_EQ(to_string(subscription_kind::key_shared), "Key_Shared");
  EXPECT_EQ(to_string(run_mode::exec), "exec");
  EXPECT_EQ(to_string(run_mode::stream), "stream");
  EXPECT_EQ(to_string(framing::lines), "lines");
  EXPECT_EQ(to_string(framing::nul), "nul");
  EXPECT_EQ(to_string(framing::length_prefixed), "length-prefixed");
  EXPECT_EQ(to_string(input_style::stdin_only), "stdin");
  EXPECT_EQ(to_string(input_style::arg), "arg");
}

}  // namespace
}  // namespace shfn::config
