// The runner on a real spec: `rev` as a function, on an embedded broker and runtime in this
// process. Each selected case is reported once, with its verdict and the reason it failed;
// a case left out by `selected` does not run; a flow that cannot start is reported as such.

#include "flowtest/runner.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/temp_dir.h"

namespace shfn::flowtest {
namespace {

struct loaded {
  test_file test;
  config::spec_file spec;
};

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

loaded load(const temp_dir& dir, const std::string& command) {
  write(dir / "spec.yaml",
        "apiVersion: shfn.dev/v1\nkind: Function\nmetadata: {name: reverse}\n"
        "spec: {command: " +
            command + ", inputs: [in], output: out}\n");
  write(dir / "reverse.test.yaml",
        "spec: spec.yaml\n"
        "timeout: 2s\n"
        "tests:\n"
        "  - name: reverses\n"
        "    send: [{to: reverse, payload: hello}]\n"
        "    expect: [{from: reverse, payloads: [olleh]}]\n"
        "  - name: expects the wrong thing\n"
        "    send: [{to: reverse, payload: abc}]\n"
        "    expect: [{from: reverse, payloads: [abc]}]\n"
        "  - name: left out\n"
        "    send: [{to: reverse, payload: x}]\n"
        "    expect: [{from: reverse, payloads: [x]}]\n");
  auto test = load_test_file((dir / "reverse.test.yaml").string());
  EXPECT_TRUE(test);
  auto spec = config::load_file(test->spec);
  EXPECT_TRUE(spec);
  EXPECT_TRUE(resolve(*test, *spec).empty());
  return {std::move(*test), std::move(*spec)};
}

struct reported {
  std::string name;
  case_outcome outcome;
};

run_hooks recording(std::vector<reported>& cases) {
  return {.selected = [](const test_case& tc) { return tc.name != "left out"; },
          .take_log = [] { return std::vector<std::string>{}; },
          .on_case =
              [&cases](const test_case& tc, const case_outcome& o,
                       std::chrono::steady_clock::duration) {
                cases.push_back({tc.name, o});
              }};
}

TEST(runner, each_selected_case_is_run_and_judged_once) {
  temp_dir dir("shfn-runner");
  const loaded file = load(dir, "rev");
  std::vector<reported> cases;
  EXPECT_EQ(run_test_file(file.test, file.spec, recording(cases)), "");
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].name, "reverses");
  EXPECT_TRUE(cases[0].outcome.ok);
  EXPECT_EQ(cases[1].name, "expects the wrong thing");
  EXPECT_FALSE(cases[1].outcome.ok);
  ASSERT_FALSE(cases[1].outcome.lines.empty());
  std::string why;
  for (const auto& line : cases[1].outcome.lines) why += line + "\n";
  EXPECT_NE(why.find("cba"), std::string::npos) << why;  // what arrived instead
}

TEST(runner, a_flow_that_cannot_start_is_why_no_case_ran) {
  temp_dir dir("shfn-runner");
  loaded file = load(dir, "rev");
  file.test.clock = "not a clock";
  std::vector<reported> cases;
  const std::string why = run_test_file(file.test, file.spec, recording(cases));
  EXPECT_NE(why.find("invalid clock"), std::string::npos) << why;
  EXPECT_TRUE(cases.empty());
}

}  // namespace
}  // namespace shfn::flowtest
