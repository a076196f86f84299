// Facts from the host: ldd's and dpkg-query's answers, os-release, apt sources.

#include "image/host.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "image/command.h"

namespace shfn::image {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const char* ldd_output =
    "\tlinux-vdso.so.1 (0x00007ffd)\n"
    "\tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x00007f28)\n"
    "\tlibprotobuf.so.32 => /lib/x86_64-linux-gnu/libprotobuf.so.32 (0x00007f28)\n"
    "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f28)\n"
    "\t/lib64/ld-linux-x86-64.so.2 (0x00007f28)\n";

TEST(host_test, parse_ldd_keeps_resolved_paths_and_drops_the_vdso) {
  auto r = parse_ldd(ldd_output);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(*r, ElementsAre("/lib/x86_64-linux-gnu/libssl.so.3",
                              "/lib/x86_64-linux-gnu/libprotobuf.so.32",
                              "/lib/x86_64-linux-gnu/libz.so.1", "/lib64/ld-linux-x86-64.so.2"));
}

TEST(host_test, parse_ldd_names_missing_libraries) {
  auto r = parse_ldd(
      "\tlibfoo.so.1 => not found\n\tlibz.so.1 => /lib/libz.so.1 (0x1)\n"
      "\tlibbar.so.2 => not found\n");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("libfoo.so.1, libbar.so.2"));
}

TEST(host_test, path_aliases_follow_merged_usr) {
  EXPECT_THAT(
      path_aliases("/lib/x86_64-linux-gnu/libz.so.1"),
      ElementsAre("/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1"));
  EXPECT_THAT(path_aliases("/usr/lib/x/libssl.so.3"),
              ElementsAre("/usr/lib/x/libssl.so.3", "/lib/x/libssl.so.3"));
  EXPECT_THAT(path_aliases("/lib64/ld-linux-x86-64.so.2"),
              ElementsAre("/lib64/ld-linux-x86-64.so.2", "/usr/lib64/ld-linux-x86-64.so.2"));
  EXPECT_THAT(path_aliases("/opt/lib/x.so"), ElementsAre("/opt/lib/x.so"));
}

TEST(host_test, parse_dpkg_search_drops_architectures_and_diversions) {
  auto owners = parse_dpkg_search(
      "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3\n"
      "zlib1g:amd64: /lib/x86_64-linux-gnu/libz.so.1\n"
      "libc6:amd64, libc6-dbg:amd64: /lib64/ld-linux-x86-64.so.2\n"
      "diversion by dash from: /bin/sh\n"
      "diversion by dash to: /bin/sh.distrib\n");
  EXPECT_EQ(owners.size(), 3u);
  EXPECT_EQ(owners["/usr/lib/x86_64-linux-gnu/libssl.so.3"], "libssl3");
  EXPECT_EQ(owners["/lib/x86_64-linux-gnu/libz.so.1"], "zlib1g");
  EXPECT_EQ(owners["/lib64/ld-linux-x86-64.so.2"], "libc6");
}

TEST(host_test, packages_for_tries_aliases_and_real_paths_and_names_orphans) {
  const std::map<std::string, std::string> owners = {
      {"/usr/lib/x86_64-linux-gnu/libssl.so.3", "libssl3"},
      {"/usr/lib/x86_64-linux-gnu/libprotobuf.so.32.0.12", "libprotobuf32"},
      {"/lib/x86_64-linux-gnu/libz.so.1", "zlib1g"}};
  const std::map<std::string, std::string> real = {
      {"/lib/x86_64-linux-gnu/libprotobuf.so.32",
       "/usr/lib/x86_64-linux-gnu/libprotobuf.so.32.0.12"}};
  auto r = packages_for(
      {"/lib/x86_64-linux-gnu/libssl.so.3", "/lib/x86_64-linux-gnu/libz.so.1",
       "/lib/x86_64-linux-gnu/libprotobuf.so.32", "/usr/lib/x86_64-linux-gnu/libssl.so.3"},
      owners, real);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(*r, ElementsAre("libprotobuf32", "libssl3", "zlib1g"));

  auto orphan = packages_for({"/usr/local/lib/libmine.so.1"}, owners, {});
  ASSERT_FALSE(orphan);
  EXPECT_THAT(orphan.error().message, HasSubstr("/usr/local/lib/libmine.so.1"));
  EXPECT_THAT(orphan.error().message, HasSubstr("deploy/Dockerfile"));
}

TEST(host_test, parse_os_release_unquotes) {
  auto f = parse_os_release(
      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"
      "# comment\nVERSION_CODENAME=bookworm\nNAME='x y'\n");
  EXPECT_EQ(f["ID"], "debian");
  EXPECT_EQ(f["VERSION_CODENAME"], "bookworm");
  EXPECT_EQ(f["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(f["NAME"], "x y");
}

TEST(host_test, find_mirror_in_one_line_sources) {
  const char* text =
      "# deb http://old.example/debian bookworm main\n"
      "deb-src http://src.example/debian bookworm main\n"
      "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://m.example/debian/ bookworm "
      "main\n"
      "deb http://security.example/debian-security bookworm-security main\n";
  EXPECT_EQ(find_mirror(text, "bookworm", false), "http://m.example/debian");
  EXPECT_EQ(find_mirror(text, "bookworm-security", false),
            "http://security.example/debian-security");
  EXPECT_EQ(find_mirror(text, "trixie", false), "");
}

TEST(host_test, find_mirror_in_deb822_sources) {
  const char* text =
      "Types: deb\n"
      "URIs: http://disabled.example/debian\n"
      "Suites: bookworm\n"
      "Enabled: no\n"
      "\n"
      "Types: deb deb-src\n"
      "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
      "URIs: http://deb.debian.org/debian\n"
      "Suites: bookworm bookworm-updates\n"
      "Components: main\n"
      "Signed-By: -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
      " .\n"
      " mQINBF...\n"
      "\n"
      "Types: deb\n"
      "URIs: mirror+file:/etc/apt/mirrors.txt http://deb.debian.org/debian-security\n"
      "Suites: bookworm-security\n";
  EXPECT_EQ(find_mirror(text, "bookworm", true), "http://deb.debian.org/debian");
  EXPECT_EQ(find_mirror(text, "bookworm-updates", true), "http://deb.debian.org/debian");
  EXPECT_EQ(find_mirror(text, "bookworm-security", true), "http://deb.debian.org/debian-security");
  EXPECT_EQ(find_mirror(text, "sid", true), "");
}

// The real tools on this machine: this test binary's own libraries come from Debian packages.
TEST(host_test, library_packages_of_a_real_binary) {
  if (!find_program("dpkg-query") || !find_program("ldd")) GTEST_SKIP() << "not a Debian machine";
  char self[4096];
  const auto n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  auto r = library_packages(std::string(self, static_cast<std::size_t>(n)));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(*r, Contains("libc6"));
  EXPECT_THAT(*r, Contains("libstdc++6"));
}

TEST(host_test, run_command_captures_both_streams_and_the_exit_code) {
  auto r = run_command({"sh", "-c", "printf out; printf err >&2; exit 3"}, {.capture = true});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "out");
  EXPECT_EQ(r->err, "err");
  EXPECT_EQ(r->exit_code, 3);
  auto missing = run_command({"shfn-no-such-program"}, {.capture = true});
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("cannot run shfn-no-such-program"));
}

TEST(host_test, run_command_passes_arguments_without_a_shell) {
  auto r = run_command({"printf", "%s|", "a b", "$(id)", ";x"}, {.capture = true});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "a b|$(id)|;x|");
}

}  // namespace
}  // namespace shfn::image
