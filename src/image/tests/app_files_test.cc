// Which files of the spec's directory go to /app: .shfnignore's rules, links, limits.

#include "image/app_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "image/tests/test_util.h"

namespace shfn::image {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::tree;

std::vector<std::string> paths(const app_tree& t) {
  std::vector<std::string> out;
  for (const auto& f : t.files) {
    out.push_back(f.path + (f.type == app_file::kind::directory ? "/" : ""));
  }
  return out;
}

ignore_rules rules(std::string_view text) {
  ignore_rules r;
  r.parse(text);
  return r;
}

TEST(ignore_rules_test, defaults_leave_out_git_and_the_embedded_brokers_data_directories) {
  auto r = ignore_rules::defaults();
  EXPECT_TRUE(r.ignored(".git", true));
  EXPECT_TRUE(r.ignored("shfn-data", true));
  EXPECT_TRUE(r.ignored("sub/shfn-data", true));
  EXPECT_FALSE(r.ignored("shfn-data", false)) << "only directories";
  EXPECT_FALSE(r.ignored("reverse.sh", false));
}

TEST(ignore_rules_test, a_pattern_without_slash_matches_the_name_at_any_depth) {
  auto r = rules("*.log\n");
  EXPECT_TRUE(r.ignored("a.log", false));
  EXPECT_TRUE(r.ignored("sub/deep/b.log", false));
  EXPECT_FALSE(r.ignored("a.logs", false));
}

TEST(ignore_rules_test, a_pattern_with_slash_is_anchored_at_the_spec_directory) {
  auto r = rules("/build\nsub/*.tmp\n");
  EXPECT_TRUE(r.ignored("build", true));
  EXPECT_FALSE(r.ignored("sub/build", true));
  EXPECT_TRUE(r.ignored("sub/x.tmp", false));
  EXPECT_FALSE(r.ignored("sub/deep/x.tmp", false)) << "* stops at '/'";
}

TEST(ignore_rules_test, the_last_matching_line_wins_and_bang_takes_a_path_back) {
  auto r = rules("# comment\n\n*.log\n!keep.log\n");
  EXPECT_TRUE(r.ignored("drop.log", false));
  EXPECT_FALSE(r.ignored("keep.log", false));
  ASSERT_NE(r.decide("keep.log", false), nullptr);
  EXPECT_EQ(r.decide("keep.log", false)->line, 4);
  EXPECT_EQ(r.decide("other.txt", false), nullptr);
}

TEST(ignore_rules_test, a_trailing_slash_matches_directories_only) {
  auto r = rules("cache/\n");
  EXPECT_TRUE(r.ignored("cache", true));
  EXPECT_FALSE(r.ignored("cache", false));
}

TEST(select_app_files_test, takes_the_whole_directory_minus_the_ignored) {
  tree t;
  t.write("reverse.yaml", "kind: Function\n");
  t.write("reverse.sh", "#!/bin/sh\nrev\n", 0755);
  t.write("lib/util.sh", "util\n", 0600);
  t.write("notes.bak", "x");
  t.write(".git/config", "x");
  t.write("shfn-data/LOCK", "x");
  t.write(".shfnignore", "*.bak\n");
  auto r = select_app_files({.root = t.path()});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(paths(*r),
              ElementsAre(".shfnignore", "lib/", "lib/util.sh", "reverse.sh", "reverse.yaml"));
  EXPECT_TRUE(r->find("reverse.sh")->executable);
  EXPECT_FALSE(r->find("lib/util.sh")->executable);
  EXPECT_EQ(r->find("reverse.yaml")->size, 15u);
  EXPECT_EQ(r->total_bytes, 6u + 5 + 14 + 15);
}

TEST(select_app_files_test, leaves_out_excluded_paths_such_as_the_archive_being_written) {
  tree t;
  t.write("spec.yaml", "x");
  t.write("image.tar", "old archive");
  auto r = select_app_files({.root = t.path(), .exclude = {t.path() / "image.tar"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(paths(*r), ElementsAre("spec.yaml"));
}

TEST(select_app_files_test, keeps_links_that_stay_inside_the_tree) {
  tree t;
  t.write("lib/real.sh", "x", 0755);
  t.link("run.sh", "lib/real.sh");
  t.link("lib/up.sh", "../run.sh");
  auto r = select_app_files({.root = t.path()});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(paths(*r), ElementsAre("lib/", "lib/real.sh", "lib/up.sh", "run.sh"));
  EXPECT_EQ(r->find("run.sh")->type, app_file::kind::symlink);
  EXPECT_EQ(r->find("run.sh")->link_target, "lib/real.sh");
}

TEST(select_app_files_test, refuses_links_that_would_dangle_in_the_image) {
  for (const std::string target : {"/usr/bin/rev", "../outside.sh", "lib/../../x"}) {
    tree t;
    t.write("spec.yaml", "x");
    t.link("helper.sh", target);
    auto r = select_app_files({.root = t.path()});
    ASSERT_FALSE(r) << target;
    EXPECT_THAT(r.error().message, HasSubstr((t.path() / "helper.sh").string()));
    EXPECT_THAT(r.error().message, HasSubstr("symlink to " + target));
    EXPECT_THAT(r.error().message, HasSubstr(".shfnignore"));
  }
}

TEST(select_app_files_test, an_ignored_link_does_not_matter) {
  tree t;
  t.write("spec.yaml", "x");
  t.link("venv-python", "/usr/bin/python3");
  t.write(".shfnignore", "venv-python\n");
  auto r = select_app_files({.root = t.path()});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(paths(*r), ElementsAre(".shfnignore", "spec.yaml"));
}

TEST(select_app_files_test, refuses_special_files) {
  tree t;
  t.write("spec.yaml", "x");
  ASSERT_EQ(::mkfifo((t.path() / "pipe").c_str(), 0644), 0);
  auto r = select_app_files({.root = t.path()});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("pipe is not a regular file"));
}

TEST(select_app_files_test, a_directory_past_the_limits_is_an_error_naming_the_way_out) {
  tree t;
  for (int i = 0; i < 5; ++i) t.write("f" + std::to_string(i), "0123456789");
  auto by_count = select_app_files({.root = t.path(), .limits = {.max_entries = 4}});
  ASSERT_FALSE(by_count);
  EXPECT_THAT(by_count.error().message, HasSubstr("a directory of their own"));
  EXPECT_THAT(by_count.error().message, HasSubstr(".shfnignore"));
  auto by_size = select_app_files({.root = t.path(), .limits = {.max_bytes = 45}});
  ASSERT_FALSE(by_size);
  auto fits = select_app_files({.root = t.path(), .limits = {.max_bytes = 50, .max_entries = 5}});
  EXPECT_TRUE(fits) << fits.error().message;
}

TEST(path_inside_test, is_lexical) {
  std::string rel;
  EXPECT_TRUE(path_inside("/a/b/c.sh", "/a/b", rel));
  EXPECT_EQ(rel, "c.sh");
  EXPECT_TRUE(path_inside("/a/b/lib/../c.sh", "/a/b/", rel));
  EXPECT_EQ(rel, "c.sh");
  EXPECT_TRUE(path_inside("/a/b", "/a/b", rel));
  EXPECT_EQ(rel, "");
  EXPECT_FALSE(path_inside("/a/bc/x", "/a/b", rel));
  EXPECT_FALSE(path_inside("/a/x", "/a/b", rel));
  EXPECT_FALSE(path_inside("/tmp", "/a/b", rel));
}

}  // namespace
}  // namespace shfn::image
