// The Containerfiles and names an image build hands to buildah.

#include "image/recipe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace shfn::image {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

base_recipe recipe(std::vector<std::string> packages = {"ca-certificates", "tini"}) {
  return {.suite = "bookworm",
          .arch = "amd64",
          .mirror = "http://deb.debian.org/debian",
          .security_mirror = "http://deb.debian.org/debian-security",
          .packages = std::move(packages)};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The JSON array after `instruction` on the line that starts with it.
std::vector<std::string> exec_form_of(const std::string& text, const std::string& instruction) {
  for (const auto& l : lines(text)) {
    if (l.starts_with(instruction + " ")) {
      return nlohmann::json::parse(l.substr(instruction.size() + 1))
          .get<std::vector<std::string>>();
    }
  }
  ADD_FAILURE() << "no " << instruction << " in:\n" << text;
  return {};
}

TEST(recipe_test, merge_packages_adds_tini_and_certificates_sorts_and_drops_duplicates) {
  auto p = merge_packages({"libssl3", "libc6", "libssl3"}, {"jq", "tini"});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(*p, ElementsAre("ca-certificates", "jq", "libc6", "libssl3", "tini"));
}

TEST(recipe_test, merge_packages_refuses_what_is_not_a_debian_package_name) {
  for (const std::string bad : {"Jq", "j", "jq; rm -rf /", "-jq", "jq curl"}) {
    auto p = merge_packages({}, {bad});
    ASSERT_FALSE(p) << bad;
    EXPECT_THAT(p.error().message, HasSubstr(bad));
  }
  EXPECT_TRUE(valid_package_name("libstdc++6"));
  EXPECT_TRUE(valid_package_name("libyaml-cpp0.7"));
}

TEST(recipe_test, every_run_of_the_base_stage_is_exec_form_so_no_shell_reads_a_package_name) {
  auto text = base_containerfile(recipe({"jq", "libssl3", "tini"}));
  int runs = 0;
  for (const auto& l : lines(text)) {
    if (!l.starts_with("RUN ")) continue;
    ++runs;
    auto argv = nlohmann::json::parse(l.substr(4), nullptr, false);
    ASSERT_TRUE(argv.is_array()) << l;
  }
  EXPECT_GE(runs, 5);
  EXPECT_THAT(lines(text), ::testing::Contains("FROM scratch"));
  EXPECT_THAT(text, HasSubstr("ADD debian-bookworm-amd64-minbase.tar /\n"));
}

TEST(recipe_test, the_base_stage_installs_the_packages_and_makes_the_user_10001) {
  auto text = base_containerfile(recipe({"jq", "libssl3", "tini"}));
  bool found_install = false, found_user = false;
  for (const auto& l : lines(text)) {
    if (!l.starts_with("RUN ")) continue;
    auto argv = nlohmann::json::parse(l.substr(4)).get<std::vector<std::string>>();
    if (argv.size() > 3 && argv[2] == "apt-get" && argv[3] == "install") {
      found_install = true;
      EXPECT_THAT(std::vector<std::string>(argv.end() - 3, argv.end()),
                  ElementsAre("jq", "libssl3", "tini"));
      EXPECT_THAT(argv, ::testing::Contains("--no-install-recommends"));
    }
    if (argv[0] == "useradd") {
      found_user = true;
      EXPECT_THAT(argv, ElementsAre("useradd", "--uid", "10001", "--gid", "10001", "--create-home",
                                    "--home-dir", "/home/shfn", "--shell", "/bin/bash", "shfn"));
    }
  }
  EXPECT_TRUE(found_install);
  EXPECT_TRUE(found_user);
}

TEST(recipe_test, the_base_cache_key_follows_everything_that_makes_the_base) {
  const auto a = base_archive_name(recipe());
  EXPECT_THAT(a, StartsWith("base-bookworm-amd64-"));
  EXPECT_EQ(a.size(),
            std::string("base-bookworm-amd64-").size() + 16 + std::string(".oci.tar").size());
  EXPECT_EQ(a, base_archive_name(recipe())) << "stable";
  EXPECT_NE(a, base_archive_name(recipe({"ca-certificates", "jq", "tini"})));
  auto other_mirror = recipe();
  other_mirror.mirror = "http://mirror.example/debian";
  EXPECT_NE(a, base_archive_name(other_mirror));
  auto other_suite = recipe();
  other_suite.suite = "trixie";
  EXPECT_THAT(base_archive_name(other_suite), StartsWith("base-trixie-amd64-"));
}

TEST(recipe_test, sources_list_has_updates_and_security_when_known) {
  EXPECT_EQ(sources_list(recipe()),
            "deb http://deb.debian.org/debian bookworm main\n"
            "deb http://deb.debian.org/debian bookworm-updates main\n"
            "deb http://deb.debian.org/debian-security bookworm-security main\n");
  auto r = recipe();
  r.security_mirror.clear();
  EXPECT_THAT(sources_list(r), ::testing::Not(HasSubstr("security")));
}

TEST(recipe_test, debootstrap_and_tar_argv) {
  EXPECT_THAT(debootstrap_argv(recipe(), "/c/w/minbase"),
              ElementsAre("debootstrap", "--variant=minbase", "--arch=amd64", "bookworm",
                          "/c/w/minbase", "http://deb.debian.org/debian"));
  auto tar = minbase_tar_argv("/r", "/c/x.tar");
  EXPECT_EQ(tar.front(), "tar");
  EXPECT_THAT(tar, ::testing::Contains("--exclude=./var/lib/apt/lists/*"));
  EXPECT_THAT(std::vector<std::string>(tar.end() - 5, tar.end()),
              ElementsAre("-C", "/r", "-cf", "/c/x.tar", "."));
}

TEST(recipe_test, the_function_stage_runs_tini_then_shfn_on_the_spec_with_appendable_args) {
  const app_recipe r{.base = "0123abcd",
                     .spec_name = "reverse.yaml",
                     .functions = {"reverse", "reverse-arg"},
                     .version = "0.1.0"};
  auto text = app_containerfile(r);
  EXPECT_THAT(lines(text), ::testing::Contains("FROM 0123abcd"));
  EXPECT_THAT(
      exec_form_of(text, "ENTRYPOINT"),
      ElementsAre("/usr/bin/tini", "--", "/usr/local/bin/shfn", "run", "/app/reverse.yaml"));
  EXPECT_THAT(exec_form_of(text, "CMD"), ElementsAre("--admin", "0.0.0.0:8081"));
  EXPECT_THAT(exec_form_of(text, "RUN"),
              ElementsAre("/usr/local/bin/shfn", "validate", "/app/reverse.yaml"));
  auto all = lines(text);
  EXPECT_THAT(all, ::testing::Contains("COPY shfn /usr/local/bin/shfn"));
  EXPECT_THAT(all, ::testing::Contains("COPY app/ /app/"));
  EXPECT_THAT(all, ::testing::Contains("USER 10001:10001"));
  EXPECT_THAT(all, ::testing::Contains("WORKDIR /app"));
  EXPECT_THAT(all, ::testing::Contains("ENV SHFN_DATA=/data"));
  EXPECT_THAT(all, ::testing::Contains("EXPOSE 8081"));
  EXPECT_THAT(text, HasSubstr("org.opencontainers.image.title=\"reverse.yaml\""));
  EXPECT_THAT(text, HasSubstr("dev.shfn.functions=\"reverse,reverse-arg\""));
  // The validation runs as the image's user: after USER, so it proves the user can read /app.
  auto user = std::find(all.begin(), all.end(), "USER 10001:10001");
  auto validate = std::find_if(all.begin(), all.end(),
                               [](const std::string& l) { return l.starts_with("RUN "); });
  EXPECT_LT(user, validate);
}

TEST(recipe_test, spec_names_must_be_safe_on_a_command_line) {
  EXPECT_TRUE(valid_spec_name("reverse.yaml"));
  EXPECT_TRUE(valid_spec_name("My_Flow-2.yml"));
  EXPECT_FALSE(valid_spec_name("my flow.yaml"));
  EXPECT_FALSE(valid_spec_name("-rf.yaml"));
  EXPECT_FALSE(valid_spec_name("a\"b.yaml"));
  EXPECT_FALSE(valid_spec_name(""));
}

TEST(recipe_test, references_get_latest_when_untagged) {
  auto ok = [](std::string_view in) {
    auto r = normalize_reference(in);
    EXPECT_TRUE(r) << in << ": " << r.error().message;
    return r ? *r : std::string();
  };
  EXPECT_EQ(ok("reverse"), "reverse:latest");
  EXPECT_EQ(ok("shfn-test/reverse:ci"), "shfn-test/reverse:ci");
  EXPECT_EQ(ok("registry.example.com:5000/team/rev:1.0"), "registry.example.com:5000/team/rev:1.0");
  EXPECT_EQ(ok("localhost/a__b/c.d-e:Tag_1.x"), "localhost/a__b/c.d-e:Tag_1.x");
  EXPECT_EQ(ok("localhost:5000/rev"), "localhost:5000/rev:latest");
}

TEST(recipe_test, bad_references_are_explained) {
  for (const std::string bad :
       {"Reverse", "a//b", "x:", "x:bad tag", ":tag", "-x", "a/-b", "x:-tag", "bad_host:5000x/y"}) {
    auto r = normalize_reference(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_THAT(r.error().message, HasSubstr("invalid image name \"" + bad + "\""));
  }
}

TEST(recipe_test, fnv1a_known_values) {
  EXPECT_EQ(fnv1a_hex(""), "cbf29ce484222325");
  EXPECT_EQ(fnv1a_hex("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(fnv1a_hex("foobar"), "85944171f73967e8");
}

}  // namespace
}  // namespace shfn::image
