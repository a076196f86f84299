// What a spec must satisfy to go into an image: scripts and working directories inside its
// directory, a safe file name; and what the plan shows.

#include "image/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "image/tests/test_util.h"

namespace shfn::image {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::tree;

config::spec_file load(const tree& t, const std::string& name, const std::string& yaml) {
  t.write(name, yaml);
  auto r = config::load_file((t.path() / name).string());
  if (!r) {
    for (const auto& e : r.error()) ADD_FAILURE() << e.to_string();
    return {};
  }
  return *r;
}

std::string function(const std::string& name, const std::string& spec_lines) {
  return "kind: Function\nmetadata:\n  name: " + name + "\nspec:\n  inputs: [in-" + name + "]\n" +
         spec_lines + "---\n";
}

TEST(plan_test, inspect_spec_collects_functions_scripts_and_packages) {
  tree t;
  t.write("bin/a.sh", "#!/bin/sh\n", 0755);
  auto spec = load(t, "flow.yaml",
                   function("a", "  script: bin/a.sh\n  deploy:\n    packages: [jq, curl]\n") +
                       function("b", "  command: ./helper.sh\n  deploy:\n    packages: [jq]\n"));
  auto c = inspect_spec(spec);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->spec_name, "flow.yaml");
  EXPECT_EQ(c->dir, t.path());
  EXPECT_THAT(c->functions, ElementsAre("a", "b"));
  EXPECT_THAT(c->packages, ElementsAre("curl", "jq"));
  ASSERT_EQ(c->scripts.size(), 1u);
  EXPECT_EQ(c->scripts[0].path, "bin/a.sh");
}

TEST(plan_test, a_script_outside_the_spec_directory_is_refused_with_file_line_and_field) {
  tree t;
  t.write("outside.sh", "#!/bin/sh\n", 0755);
  t.write("spec/keep", "");
  auto spec = load(t, "spec/s.yaml", function("rev", "  script: ../outside.sh\n"));
  auto c = inspect_spec(spec);
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message,
              HasSubstr((t.path() / "spec/s.yaml").string() +
                        ":1:1: "
                        "rev.spec.script: " +
                        (t.path() / "outside.sh").string() + " is outside the spec's directory"));
}

TEST(plan_test, a_working_dir_outside_the_spec_directory_is_refused_except_tmp) {
  tree t;
  t.write("spec/keep", "");
  auto bad = load(t, "spec/s.yaml", function("rev", "  command: rev\n  workingDir: ..\n"));
  auto c = inspect_spec(bad);
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr("rev.spec.workingDir: " + t.path().string()));
  EXPECT_THAT(c.error().message, HasSubstr("will not exist in the image"));
  auto tmp = load(t, "spec/t.yaml", function("rev", "  command: rev\n  workingDir: /tmp\n"));
  EXPECT_TRUE(inspect_spec(tmp));
  t.write("spec/data/keep", "");
  auto inside = load(t, "spec/u.yaml", function("rev", "  command: rev\n  workingDir: data\n"));
  EXPECT_TRUE(inspect_spec(inside));
}

TEST(plan_test, a_spec_file_name_unsafe_on_a_command_line_is_refused) {
  tree t;
  auto spec = load(t, "my spec.yaml", function("rev", "  command: rev\n"));
  auto c = inspect_spec(spec);
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr("rename the file"));
}

TEST(plan_test, a_script_left_out_by_shfnignore_is_an_error_naming_the_way_back) {
  tree t;
  t.write("rev.sh", "#!/bin/sh\n", 0755);
  t.write(".shfnignore", "*.sh\n");
  auto spec = load(t, "s.yaml", function("rev", "  script: rev.sh\n"));
  auto c = inspect_spec(spec);
  ASSERT_TRUE(c) << c.error().message;
  auto app = select_app_files({.root = c->dir});
  ASSERT_TRUE(app) << app.error().message;
  auto checked = check_references(*c, *app);
  ASSERT_FALSE(checked);
  EXPECT_THAT(checked.error().message, HasSubstr("rev.spec.script: rev.sh is left out"));
  EXPECT_THAT(checked.error().message, HasSubstr("\"!rev.sh\""));
}

TEST(plan_test, describe_shows_files_packages_and_both_stages) {
  tree t;
  t.write("rev.sh", "#!/bin/sh\n", 0755);
  auto spec = load(t, "s.yaml", function("rev", "  script: rev.sh\n"));
  auto c = inspect_spec(spec);
  ASSERT_TRUE(c);
  auto app = select_app_files({.root = c->dir});
  ASSERT_TRUE(app);
  const image_plan plan{.spec = *c,
                        .app = *app,
                        .base = {.suite = "bookworm",
                                 .arch = "amd64",
                                 .mirror = "http://deb.debian.org/debian",
                                 .packages = {"ca-certificates", "libc6", "tini"}},
                        .shfn_binary = "/usr/bin/shfn"};
  auto text = describe(plan, "shfn/s:latest", "0.1.0");
  EXPECT_THAT(text, HasSubstr("image shfn/s:latest\n"));
  EXPECT_THAT(text, HasSubstr("    rev.sh* (10 bytes)\n"));
  EXPECT_THAT(text, HasSubstr("packages: ca-certificates libc6 tini\n"));
  EXPECT_THAT(text, HasSubstr("FROM scratch\n"));
  EXPECT_THAT(text, HasSubstr("ENTRYPOINT [\"/usr/bin/tini\",\"--\",\"/usr/local/bin/shfn\""));
}

}  // namespace
}  // namespace shfn::image
