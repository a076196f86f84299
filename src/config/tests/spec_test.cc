// The file and document level: multiple documents, names, kinds, YAML syntax errors, files on
// disk and the paths relative to them.

#include "config/spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/tests/test_util.h"

namespace shfn::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using testing::temp_dir;

TEST(spec_test, several_documents_in_order_and_empty_ones_skipped) {
  auto r = load_string(R"(# a comment-only document
---
apiVersion: shfn.dev/v1alpha1
kind: Function
metadata:
  name: first
spec:
  command: cat
  inputs: a
---
---
kind: Function
metadata:
  name: second
  labels:
    app: demo
  annotations:
    note: "anything"
spec:
  command: cat
  inputs: b
...
)",
                       "f.yaml", "/");
  ASSERT_TRUE(r) << r.error()[0].to_string();
  EXPECT_EQ(r->path, "f.yaml");
  ASSERT_EQ(r->functions.size(), 2u);
  EXPECT_EQ(r->functions[0].name, "first");
  EXPECT_EQ(r->functions[0].where.line, 3);
  EXPECT_EQ(r->functions[1].name, "second");
  EXPECT_EQ(r->functions[1].where.line, 12);
}

TEST(spec_test, empty_text_has_no_functions) {
  auto r = load_string("", "f.yaml", "/");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->functions.empty());
  r = load_string("---\n# nothing\n---\n", "f.yaml", "/");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->functions.empty());
}

TEST(spec_test, errors_of_every_document_are_collected) {
  EXPECT_THAT(errors_of(R"(kind: Function
metadata:
  name: one
spec:
  command: cat
  inputs: in
  timeoutMs: soon
---
kind: Function
metadata:
  name: two
spec:
  command: cat
)"),
              ElementsAre("f.yaml:7:14: one.spec.timeoutMs: expected an integer, got \"soon\"",
                          "f.yaml:13:3: two.spec: one of inputs or topicsPattern is required "
                          "(or refer to it from a Parallel or Sequence)"));
}

TEST(spec_test, names_are_unique_across_the_file) {
  EXPECT_THAT(errors_of(R"(kind: Function
metadata:
  name: same
spec: {command: cat, inputs: a}
---
kind: Function
metadata:
  name: other
spec: {command: cat, inputs: b}
---
kind: Function
metadata:
  name: same
spec: {command: cat, inputs: c}
)"),
              ElementsAre("f.yaml:13:9: same.metadata.name: duplicate name \"same\" (first used "
                          "at line 3)"));
}

TEST(spec_test, names_are_dns_labels) {
  const std::string rule =
      ": must be a DNS label (lowercase letters, digits and '-', starting and ending with a "
      "letter or digit, at most 63 characters)";
  auto with_name = [](const std::string& name) {
    return "kind: Function\nmetadata:\n  name: " + name + "\nspec: {command: cat, inputs: a}\n";
  };
  for (const std::string& bad : std::vector<std::string>{"Reverse", "-rev", "rev-", "re_v", "r.v",
                                                         "'42 '", "''", std::string(64, 'a')}) {
    std::string shown = bad.front() == '\'' ? bad.substr(1, bad.size() - 2) : bad;
    if (shown.size() > 60) shown = shown.substr(0, 60) + "...";
    EXPECT_THAT(errors_of(with_name(bad)),
                ElementsAre("f.yaml:3:9: metadata.name: invalid name \"" + shown + "\"" + rule))
        << bad;
  }
  for (const std::string& good :
       std::vector<std::string>{"a", "0", "a-b-9", "42", std::string(63, 'z')}) {
    EXPECT_THAT(errors_of(with_name(good)), ElementsAre()) << good;
  }
}

TEST(spec_test, header_fields_are_required) {
  // Without a usable name, paths start at the document ("spec.inputs").
  EXPECT_THAT(errors_of(R"(kind: Function
spec:
  command: cat
  inputs: [in, 7]
)"),
              ElementsAre("f.yaml:1:1: metadata: required field is missing"));
  EXPECT_THAT(errors_of(R"(kind: Function
metadata:
  labels: {}
spec:
  command: cat
  inputs: [in, "a/b"]
)"),
              ElementsAre("f.yaml:3:3: metadata.name: required field is missing",
                          "f.yaml:6:16: spec.inputs[1]: invalid topic name \"a/b\": expected "
                          "NAME, TENANT/NAMESPACE/NAME or persistent://TENANT/NAMESPACE/NAME"));
  EXPECT_THAT(errors_of("metadata:\n  name: x\nspec: {}\n"),
              ElementsAre("f.yaml:1:1: x.kind: required field is missing"));
  EXPECT_THAT(errors_of("kind: Function\nmetadata:\n  name: x\n"),
              ElementsAre("f.yaml:1:1: x.spec: required field is missing"));
  EXPECT_THAT(errors_of("kind: Function\nmetadata: x\nspec: {command: cat, inputs: a}\n"),
              ElementsAre("f.yaml:2:11: metadata: expected a mapping, got \"x\""));
  EXPECT_THAT(errors_of("kind: [Function]\nmetadata:\n  name: x\nspec: {}\n"),
              ElementsAre("f.yaml:1:7: x.kind: expected a string, got a list"));
}

TEST(spec_test, unknown_top_level_and_metadata_fields) {
  EXPECT_THAT(
      errors_of(R"(apiVersion: v1
kind: Function
metadata:
  name: x
  namspace: default
specs:
  command: cat
)"),
      ElementsAre("f.yaml:1:1: x.spec: required field is missing",
                  "f.yaml:5:3: x.metadata.namspace: unknown field (did you mean \"namespace\"?)",
                  "f.yaml:6:1: x.specs: unknown field (did you mean \"spec\"?)"));
}

TEST(spec_test, every_kind_of_the_design_has_a_parser) {
  // Once "not supported yet"; each kind now reads its spec (and reports unknown fields in it).
  for (const std::string& kind : std::vector<std::string>{
           "Parallel", "Sequence", "CronSource", "PingSource", "CronJobSource", "Broker", "Trigger",
           "Channel", "InMemoryChannel", "Subscription"}) {
    EXPECT_THAT(errors_of("apiVersion: flows.knative.dev/v1\nkind: " + kind +
                          "\nmetadata:\n  name: flow\nspec:\n  anything: goes\n"),
                ::testing::Contains("f.yaml:6:3: flow.spec.anything: unknown field"))
        << kind;
  }
}

TEST(spec_test, unknown_kind_suggests_a_close_one) {
  const std::string supported =
      "; supported: Function, Parallel, Sequence, CronSource, PingSource, CronJobSource, "
      "ContainerSource, Broker, Trigger, Channel, InMemoryChannel, Subscription";
  EXPECT_THAT(errors_of("kind: Fucntion\nmetadata:\n  name: x\nspec: {}\n"),
              ElementsAre("f.yaml:1:7: x.kind: unknown kind \"Fucntion\" (did you mean "
                          "\"Function\"?)" +
                          supported));
  EXPECT_THAT(errors_of("kind: Paralel\nmetadata:\n  name: x\nspec: {}\n"),
              ElementsAre("f.yaml:1:7: x.kind: unknown kind \"Paralel\" (did you mean "
                          "\"Parallel\"?)" +
                          supported));
  EXPECT_THAT(errors_of("kind: Deployment\nmetadata:\n  name: x\nspec: {}\n"),
              ElementsAre("f.yaml:1:7: x.kind: unknown kind \"Deployment\"" + supported));
}

TEST(spec_test, a_document_must_be_a_mapping) {
  EXPECT_THAT(errors_of("kind: Function\nmetadata: {name: a}\nspec: {command: cat, inputs: a}\n"
                        "---\n- just\n- a list\n"),
              ElementsAre("f.yaml:5:1: expected a mapping with kind, metadata and spec, got a "
                          "list"));
}

TEST(spec_test, yaml_syntax_errors_name_the_line) {
  auto r = load_string(R"(kind: Function
metadata:
  name: x
spec:
  command: cat
  inputs: [a, b
  output: c
)",
                       "f.yaml", "/");
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().size(), 1u);
  const auto& e = r.error()[0];
  EXPECT_EQ(e.where.file, "f.yaml");
  // The line after the unclosed '[', where yaml-cpp found a key instead of ']' or ','.
  EXPECT_EQ(e.where.line, 7);
  EXPECT_EQ(e.to_string(), "f.yaml:7:9: YAML syntax error: end of sequence flow not found");

  EXPECT_THAT(errors_of("kind: Function\nmetadata:\n  name: x\n   bad: indentation\n"),
              ElementsAre("f.yaml:4:7: YAML syntax error: illegal map value"));
  EXPECT_THAT(errors_of("a: *undefined\n"),
              ElementsAre(::testing::StartsWith("f.yaml:1:4: YAML syntax error: ")));
}

TEST(spec_test, error_strings_leave_out_what_is_unknown) {
  EXPECT_EQ((spec_error{{"a.yaml", 3, 7}, "x.spec", "bad"}).to_string(), "a.yaml:3:7: x.spec: bad");
  EXPECT_EQ((spec_error{{"a.yaml", 3, 0}, "", "bad"}).to_string(), "a.yaml:3: bad");
  EXPECT_EQ((spec_error{{"a.yaml"}, "", "cannot read"}).to_string(), "a.yaml: cannot read");
}

TEST(spec_test, load_file_resolves_paths_against_the_file_directory) {
  temp_dir dir;
  dir.write("flows/scripts/reverse.sh", "#!/bin/bash\nrev\n", 0755);
  dir.write("flows/data/.keep", "");
  const auto spec = dir.write("flows/reverse.yaml", R"(kind: Function
metadata:
  name: reverse
spec:
  script: scripts/reverse.sh
  inputs: in
---
kind: Function
metadata:
  name: other
spec:
  command: cat
  inputs: in
  workingDir: data
)");
  auto r = load_file(spec.string());
  ASSERT_TRUE(r) << r.error()[0].to_string();
  EXPECT_EQ(r->path, spec.string());
  ASSERT_EQ(r->functions.size(), 2u);
  EXPECT_EQ(r->functions[0].script, (dir.path() / "flows/scripts/reverse.sh").string());
  EXPECT_EQ(r->functions[0].working_dir, (dir.path() / "flows").string());
  EXPECT_EQ(r->functions[0].where.file, spec.string());
  EXPECT_EQ(r->functions[1].working_dir, (dir.path() / "flows/data").string());
}

TEST(spec_test, load_file_with_a_relative_path) {
  temp_dir dir;
  dir.write("s.sh", "#!/bin/sh\ncat\n", 0755);
  dir.write("f.yaml", "kind: Function\nmetadata: {name: a}\nspec: {script: s.sh, inputs: a}\n");
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path().parent_path());
  auto r = load_file(dir.path().filename() / "f.yaml");
  std::filesystem::current_path(cwd);
  ASSERT_TRUE(r) << r.error()[0].to_string();
  EXPECT_EQ(r->path, (dir.path().filename() / "f.yaml").string());
  EXPECT_EQ(r->functions[0].script, (dir.path() / "s.sh").string());
}

TEST(spec_test, script_errors_from_a_file_name_the_file) {
  temp_dir dir;
  dir.write("noexec.sh", "cat\n", 0644);
  const auto spec = dir.write("f.yaml", R"(kind: Function
metadata:
  name: a
spec:
  script: noexec.sh
  inputs: a
)");
  auto r = load_file(spec.string());
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().size(), 1u);
  EXPECT_EQ(r.error()[0].to_string(), spec.string() + ":5:11: a.spec.script: " + dir.str() +
                                          "/noexec.sh is not executable (chmod +x it)");
}

TEST(spec_test, several_files_load_together_and_a_name_is_used_once_across_them) {
  temp_dir dir;
  const auto a = dir.write("a/a.yaml", R"(kind: Function
metadata: {name: reverse}
spec: {command: rev, inputs: in}
)");
  dir.write("b/data/.keep", "");
  const auto b = dir.write("b/b.yaml", R"(kind: Function
metadata: {name: upper}
spec: {command: [tr, a-z, A-Z], inputs: in, workingDir: data}
)");
  auto both = load_files({a.string(), b.string()});
  ASSERT_TRUE(both) << both.error()[0].to_string();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].functions[0].name, "reverse");
  // Relative paths still start at each file's own directory.
  EXPECT_EQ((*both)[1].functions[0].working_dir, (dir.path() / "b/data").string());

  const auto clash = dir.write("c.yaml", R"(kind: Sequence
metadata: {name: ok}
spec:
  steps: [{command: cat}]
---
kind: Function
metadata: {name: reverse}
spec: {command: cat, inputs: other}
)");
  auto r = load_files({a.string(), clash.string(), dir.str() + "/missing.yaml"});
  ASSERT_FALSE(r);
  std::vector<std::string> errors;
  for (const auto& e : r.error()) errors.push_back(e.to_string());
  EXPECT_THAT(errors,
              ElementsAre(dir.str() + "/missing.yaml: cannot read: No such file or directory",
                          clash.string() +
                              ":6:1: reverse.metadata.name: duplicate name "
                              "\"reverse\" (first used at " +
                              a.string() + ":1)"));
}

TEST(spec_test, unreadable_files_are_reported) {
  temp_dir dir;
  auto r = load_file(dir.str() + "/missing.yaml");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error()[0].to_string(),
              dir.str() + "/missing.yaml: cannot read: No such file or directory");
  r = load_file(dir.str());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error()[0].to_string(), dir.str() + ": is a directory, not a spec file");
}

TEST(spec_test, relative_base_dir_is_made_absolute) {
  auto r = load_string("kind: Function\nmetadata: {name: a}\nspec: {command: cat, inputs: a}\n",
                       "f.yaml", "some/dir");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->functions[0].working_dir, (std::filesystem::current_path() / "some/dir").string());
}

TEST(spec_test, hostile_input_is_an_error_not_a_crash) {
  // yaml-cpp's recursion guard throws; the loader turns it into an error with a line.
  auto deep = errors_of(std::string(100000, '[') + std::string(100000, ']'));
  ASSERT_EQ(deep.size(), 1u);
  EXPECT_THAT(deep[0], ::testing::StartsWith("f.yaml:1:"));
  EXPECT_FALSE(errors_of(std::string("kind: \x00\xff\xfe\x01\n", 11)).empty());
  EXPECT_FALSE(errors_of("\t- tab indented\n").empty());
}

}  // namespace
}  // namespace shfn::config
