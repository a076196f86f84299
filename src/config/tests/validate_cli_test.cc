// `shfn validate` as a user runs it: a real process, its exit code, stdout and stderr.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>

#include "config/tests/test_util.h"

extern char** environ;

namespace shfn::config {
namespace {

using testing::temp_dir;

struct run_result {
  int exit_code = -1;
  std::string out, err;
};

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `shfn ARGS...` (argv, no shell) with stdout and stderr sent to files in `dir`.
run_result run_shfn(const temp_dir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), SHFN_BIN_PATH);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto out_path = dir.path() / "stdout", err_path = dir.path() / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  run_result r;
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(rc);
    return r;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_all(out_path);
  r.err = read_all(err_path);
  return r;
}

TEST(validate_cli_test, a_valid_file_is_ok_and_lists_its_functions) {
  temp_dir dir;
  dir.write("reverse.sh", "#!/bin/bash\nrev\n", 0755);
  const auto spec = dir.write("flow.yaml", R"(kind: Function
metadata:
  name: reverse
spec:
  script: reverse.sh
  inputs: in
  output: out
---
kind: Function
metadata:
  name: upper
spec:
  command: tr a-z A-Z
  inputs: out
)");
  auto r = run_shfn(dir, {"validate", spec.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, spec.string() + ": ok (2 functions: reverse, upper)\n");
  EXPECT_EQ(r.err, "");
}

TEST(validate_cli_test, flows_are_listed_by_kind) {
  temp_dir dir;
  const auto spec = dir.write("flow.yaml", R"(kind: Function
metadata: {name: even}
spec: {command: cat}
---
kind: Function
metadata: {name: show}
spec: {command: cat, inputs: shown}
---
kind: Parallel
metadata: {name: odd-even}
spec:
  branches: [{subscriber: {ref: {name: even}}}]
  reply: {ref: {name: show}}
---
kind: PingSource
metadata: {name: ticker}
spec: {schedule: "*/1 * * * *", sink: {ref: {kind: Parallel, name: odd-even}}}
---
kind: CronSource
metadata: {name: nightly}
spec: {schedule: "@daily", sink: {builtin: display}}
)");
  auto r = run_shfn(dir, {"validate", spec.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, spec.string() +
                       ": ok (2 functions: even, show; 1 parallel: odd-even; 2 cron sources: "
                       "ticker, nightly)\n");
  EXPECT_EQ(r.err, "");

  const auto only = dir.write("seq.yaml", R"(kind: Sequence
metadata: {name: pipeline}
spec: {steps: [{command: rev}]}
)");
  r = run_shfn(dir, {"validate", only.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, only.string() + ": ok (1 sequence: pipeline)\n");
}

TEST(validate_cli_test, flow_errors_name_the_line_and_field) {
  temp_dir dir;
  const auto spec = dir.write("flow.yaml", R"(kind: Parallel
metadata: {name: p}
spec:
  branches:
    - subscriber: {ref: {name: missing}}
      delivery: {backoffDelay: 5s}
)");
  auto r = run_shfn(dir, {"validate", spec.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, spec.string() +
                       ":5:32: p.spec.branches[0].subscriber.ref: no Function named \"missing\" "
                       "in this file\n" +
                       spec.string() +
                       ":6:32: p.spec.branches[0].delivery.backoffDelay: invalid ISO-8601 "
                       "duration \"5s\": expected e.g. PT5S or PT0.5S\n");
}

// `shfn run --only` names documents of the file; a name that is none of them is refused before
// anything starts (a typo would otherwise run nothing, silently), as is a bad SHFN_CLOCK.
TEST(validate_cli_test, run_refuses_unknown_only_names) {
  temp_dir dir;
  const auto spec = dir.write("flow.yaml", R"(kind: Function
metadata: {name: f}
spec: {command: cat, inputs: in}
---
kind: Sequence
metadata: {name: s}
spec: {steps: [{ref: {name: f}}]}
)");
  auto r = run_shfn(
      dir, {"run", spec.string(), "--data-dir", dir.str() + "/data", "--only", "s,sequence"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("--only sequence"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no function, flow or source of that name"), std::string::npos) << r.err;
}

TEST(validate_cli_test, errors_go_to_stderr_with_file_line_and_field) {
  temp_dir dir;
  const auto good = dir.write("good.yaml", R"(kind: Function
metadata:
  name: one
spec:
  command: cat
  inputs: in
)");
  const auto bad = dir.write("bad.yaml", R"(kind: Function
metadata:
  name: broken
spec:
  command: cat
  inputs: in
  timeoutMs: {seconds: 5}
  maxMessageRetry: 2
)");
  auto r = run_shfn(dir, {"validate", good.string(), bad.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, good.string() + ": ok (1 function: one)\n");
  EXPECT_EQ(r.err, bad.string() +
                       ":7:14: broken.spec.timeoutMs: expected an integer, got a mapping\n" +
                       bad.string() +
                       ":8:3: broken.spec.maxMessageRetry: unknown field (did you mean "
                       "\"maxMessageRetries\"?)\n");
}

TEST(validate_cli_test, syntax_errors_and_missing_files_fail) {
  temp_dir dir;
  const auto broken = dir.write("broken.yaml", "kind: Function\nmetadata:\n  name: [x\n");
  auto r = run_shfn(dir, {"validate", broken.string(), dir.str() + "/nope.yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(broken.string() + ":4:1: YAML syntax error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dir.str() + "/nope.yaml: cannot read: No such file or directory\n"),
            std::string::npos)
      << r.err;
}

TEST(validate_cli_test, a_spec_file_is_required) {
  temp_dir dir;
  auto r = run_shfn(dir, {"validate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("spec"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace shfn::config
