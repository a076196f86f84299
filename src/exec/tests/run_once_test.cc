// Exec mode against real processes: /bin/sh scripts written to a temporary directory.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <asio/detached.hpp>
#include <asio/this_coro.hpp>

#include "base/notifier.h"
#include "exec/process.h"
#include "exec/tests/test_support.h"

namespace shfn::exec {
namespace {

using namespace testing;

struct stderr_log {
  std::vector<std::string> lines;
  line_sink sink() {
    return [this](std::string_view l) { lines.emplace_back(l); };
  }
};

// Runs `cmd` once on a fresh io_context.
outcome run_command(const command& cmd, invocation inv, const limits& lim = {},
                    line_sink on_stderr = {}) {
  asio::io_context io;
  auto got = run(io, run_once(cmd, std::move(inv), lim, std::move(on_stderr)));
  return got.value_or(outcome{.what = failure::io_error, .message = "test: did not complete"});
}

outcome run_script(const temp_dir& dir, const std::string& body, invocation inv = {},
                   const limits& lim = {}, line_sink on_stderr = {}) {
  const command cmd = script_command(write_script(dir, "script.sh", body));
  return run_command(cmd, std::move(inv), lim, std::move(on_stderr));
}

TEST(run_once, cat_round_trips_a_mebibyte_of_random_bytes_exactly) {
  invocation inv;
  inv.input = random_bytes(1 << 20);  // NUL bytes and invalid UTF-8 aplenty
  const bytes expected = inv.input;
  command cat;
  cat.argv = {"cat"};
  cat.env = basic_env();
  const auto o = run_command(cat, std::move(inv));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.output.size(), expected.size());
  EXPECT_TRUE(o.output == expected);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_TRUE(o.message.empty());
}

TEST(run_once, empty_input_and_empty_output) {
  temp_dir dir;
  const auto o = run_script(dir, "cat >/dev/null\n");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_TRUE(o.output.empty());
}

TEST(run_once, the_payload_as_first_argument) {
  temp_dir dir;
  invocation inv;
  inv.extra_args = {"two words \xff\xfe and a\nnewline"};
  const auto o = run_script(dir, "printf '%s' \"$1\"\n", std::move(inv));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(to_string(o.output), "two words \xff\xfe and a\nnewline");
}

TEST(run_once, an_argument_holding_nul_is_rejected_before_anything_runs) {
  temp_dir dir;
  invocation inv;
  inv.extra_args = {"fine", std::string("bad\0arg", 7)};
  const auto o = run_script(dir, "touch ran\n", std::move(inv));
  EXPECT_EQ(o.what, failure::input_rejected);
  EXPECT_NE(o.message.find("argument 2"), std::string::npos) << o.message;
  EXPECT_FALSE(std::filesystem::exists(dir / "ran"));
}

TEST(run_once, a_nonzero_exit_is_a_failure_that_keeps_the_output) {
  temp_dir dir;
  const auto o = run_script(dir, "echo partial; echo oops >&2; exit 3\n");
  EXPECT_EQ(o.what, failure::exit_code);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.signal, 0);
  EXPECT_EQ(o.message, "exited with code 3");
  EXPECT_EQ(to_string(o.output), "partial\n");
  EXPECT_EQ(o.stderr_tail, "oops\n");
}

TEST(run_once, exit_137_is_an_exit_code_explained_as_a_shell_reports_sigkill) {
  temp_dir dir;
  const auto o = run_script(dir, "exit 137\n");
  EXPECT_EQ(o.what, failure::exit_code);
  EXPECT_EQ(o.exit_code, 137);
  EXPECT_NE(o.message.find("exited with code 137"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("SIGKILL"), std::string::npos) << o.message;
}

TEST(run_once, death_by_a_signal_names_it) {
  temp_dir dir;
  const auto o = run_script(dir, "kill -USR1 $$\n");
  EXPECT_EQ(o.what, failure::signal);
  EXPECT_EQ(o.signal, SIGUSR1);
  EXPECT_EQ(o.message, "killed by signal 10 (SIGUSR1)");
}

TEST(run_once, a_script_that_never_reads_stdin_does_not_block_or_fail_the_invocation) {
  // SIGPIPE at its default: a write raising it would kill the test process.
  ::signal(SIGPIPE, SIG_DFL);
  temp_dir dir;
  for (const char* body : {"echo hi\n", "exec 0<&-\necho hi\n"}) {
    invocation inv;
    inv.input = random_bytes(1 << 20);
    const auto o = run_script(dir, body, std::move(inv));
    ASSERT_TRUE(o.ok()) << body << ": " << o.message;
    EXPECT_EQ(to_string(o.output), "hi\n");
  }
}

TEST(run_once, huge_output_fails_at_the_cap_and_the_process_group_dies) {
  temp_dir dir;
  limits lim;
  lim.max_output = 1 << 20;
  // 100 MB, then a sleep that would hold the invocation if the group were not killed.
  const auto o = run_script(
      dir, "echo $$ > " + (dir / "pid").string() + "\nhead -c 100000000 /dev/zero\nsleep 1000\n",
      {}, lim);
  EXPECT_EQ(o.what, failure::output_too_large);
  EXPECT_NE(o.message.find("1048576"), std::string::npos) << o.message;
  EXPECT_TRUE(o.output.empty());
  EXPECT_EQ(o.signal, SIGKILL);
  const pid_t group = read_pid(dir / "pid");
  ASSERT_GT(group, 0);
  EXPECT_TRUE(eventually([&] { return group_dead(group); }));
}

TEST(run_once, output_exactly_at_the_cap_is_fine) {
  temp_dir dir;
  limits lim;
  lim.max_output = 100000;
  const auto o = run_script(dir, "head -c 100000 /dev/zero\n", {}, lim);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.output.size(), 100000u);
}

TEST(run_once, timeout_sends_sigterm_to_the_group) {
  temp_dir dir;
  limits lim;
  lim.timeout = 200ms;
  const auto o = run_script(dir, "echo $$ > " + (dir / "pid").string() + "\nsleep 1000\n", {}, lim);
  EXPECT_EQ(o.what, failure::timeout);
  EXPECT_EQ(o.signal, SIGTERM);
  EXPECT_NE(o.message.find("timed out after 200 ms"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("SIGTERM"), std::string::npos) << o.message;
  const pid_t group = read_pid(dir / "pid");
  EXPECT_TRUE(eventually([&] { return group_dead(group); }));
}

TEST(run_once, timeout_kills_a_script_that_ignores_sigterm_after_the_grace) {
  temp_dir dir;
  limits lim;
  lim.timeout = 200ms;
  lim.kill_grace = 300ms;
  // The ignored SIGTERM is inherited by the sleep too.
  const auto o = run_script(
      dir, "trap '' TERM\necho $$ > " + (dir / "pid").string() + "\nsleep 1000\necho survived\n",
      {}, lim);
  EXPECT_EQ(o.what, failure::timeout);
  EXPECT_EQ(o.signal, SIGKILL);
  EXPECT_NE(o.message.find("SIGKILL"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("300 ms"), std::string::npos) << o.message;
  EXPECT_TRUE(o.output.empty());
  const pid_t group = read_pid(dir / "pid");
  EXPECT_TRUE(eventually([&] { return group_dead(group); }));
}

TEST(run_once, a_stop_request_ends_a_running_script_without_waiting_for_it) {
  temp_dir dir;
  std::stop_source stopper;
  invocation inv;
  inv.stop = stopper.get_token();
  // No timeout: only the stop request can end it before the test's own deadline.
  const auto o =
      run_script(dir, "echo $$ > " + (dir / "pid").string() + "\necho up >&2\nsleep 1000\n",
                 std::move(inv), {}, [&](std::string_view) { stopper.request_stop(); });
  EXPECT_EQ(o.what, failure::stopped);
  EXPECT_EQ(o.signal, SIGTERM);
  EXPECT_NE(o.message.find("stopped by its caller"), std::string::npos) << o.message;
  const pid_t group = read_pid(dir / "pid");
  EXPECT_TRUE(eventually([&] { return group_dead(group); }));
}

TEST(run_once, a_stop_requested_before_the_spawn_runs_nothing) {
  temp_dir dir;
  std::stop_source stopper;
  stopper.request_stop();
  invocation inv;
  inv.stop = stopper.get_token();
  const auto o = run_script(dir, "touch " + (dir / "ran").string() + "\n", std::move(inv));
  EXPECT_EQ(o.what, failure::stopped);
  EXPECT_FALSE(std::filesystem::exists(dir / "ran"));
}

TEST(run_once, a_background_child_holding_stdout_neither_holds_the_invocation_nor_survives) {
  temp_dir dir;
  // No timeout: waiting for the pipe's EOF would hang until the test's own deadline.
  const auto o =
      run_script(dir, "sleep 1000 &\necho $! > " + (dir / "bg").string() + "\necho done\n");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(to_string(o.output), "done\n");
  const pid_t background = read_pid(dir / "bg");
  ASSERT_GT(background, 0);
  EXPECT_TRUE(eventually([&] { return process_dead(background); }));
}

TEST(run_once, closing_stdout_early_is_not_a_failure) {
  temp_dir dir;
  stderr_log log;
  const auto o =
      run_script(dir, "printf abc\nexec 1>&-\necho still here >&2\n", {}, {}, log.sink());
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(to_string(o.output), "abc");
  EXPECT_EQ(log.lines, (std::vector<std::string>{"still here"}));
}

TEST(run_once, stderr_arrives_line_by_line_in_order_with_long_lines_split_and_a_tail) {
  temp_dir dir;
  limits lim;
  lim.max_stderr_line = 4096;
  lim.stderr_tail = 10;
  stderr_log log;
  const auto o = run_script(dir,
                            "echo one >&2\necho two >&2\n"
                            "head -c 10000 /dev/zero | tr '\\0' x >&2\necho >&2\n"
                            "printf last-no-newline >&2\n",
                            {}, lim, log.sink());
  ASSERT_TRUE(o.ok()) << o.message;
  const std::vector<std::string> expected = {"one",
                                             "two",
                                             std::string(4096, 'x'),
                                             std::string(4096, 'x'),
                                             std::string(10000 - 2 * 4096, 'x'),
                                             "last-no-newline"};
  EXPECT_EQ(log.lines, expected);
  EXPECT_EQ(o.stderr_tail, "no-newline");
}

TEST(run_once, the_metadata_file_is_parsed_and_deleted) {
  temp_dir dir;
  const std::string scratch = dir / "scratch";
  std::filesystem::create_directory(scratch);
  invocation inv;
  inv.metadata_dir = scratch;
  const auto o = run_script(dir,
                            "cat >> \"$SHFN_OUTPUT_METADATA\" <<'EOF'\n"
                            "key=customer-7\n"
                            "property.region=eu\n"
                            "# a comment\n"
                            "ce.type=com.example.done\n"
                            "not a setting\n"
                            "EOF\n"
                            "echo \"$SHFN_OUTPUT_METADATA\"\n",
                            std::move(inv));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(to_string(o.output).rfind(scratch + "/", 0), 0u) << to_string(o.output);
  ASSERT_TRUE(o.metadata.key);
  EXPECT_EQ(*o.metadata.key, "customer-7");
  using pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(o.metadata.properties, (pairs{{"region", "eu"}}));
  EXPECT_EQ(o.metadata.attributes, (pairs{{"type", "com.example.done"}}));
  ASSERT_EQ(o.metadata.warnings.size(), 1u);
  EXPECT_NE(o.metadata.warnings[0].find("not a setting"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(scratch));
}

TEST(run_once, each_invocation_gets_its_own_metadata_file_and_none_without_a_dir) {
  temp_dir dir;
  const std::string script = write_script(dir, "s.sh", "echo \"${SHFN_OUTPUT_METADATA-none}\"\n");
  const command cmd = script_command(script);
  invocation first, second, without;
  first.metadata_dir = second.metadata_dir = dir.path().string();
  const auto a = run_command(cmd, std::move(first));
  const auto b = run_command(cmd, std::move(second));
  const auto c = run_command(cmd, std::move(without));
  EXPECT_NE(to_string(a.output), to_string(b.output));
  EXPECT_EQ(to_string(c.output), "none\n");
}

TEST(run_once, a_missing_metadata_dir_is_an_io_error_naming_it) {
  temp_dir dir;
  invocation inv;
  inv.metadata_dir = dir / "missing";
  const auto o = run_script(dir, "true\n", std::move(inv));
  EXPECT_EQ(o.what, failure::io_error);
  EXPECT_NE(o.message.find(dir / "missing"), std::string::npos) << o.message;
}

TEST(run_once, a_missing_command_fails_to_spawn_naming_the_path) {
  const auto o = run_command(script_command("/nonexistent/tool.sh"), {});
  EXPECT_EQ(o.what, failure::spawn_failed);
  EXPECT_NE(o.message.find("'/nonexistent/tool.sh'"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("No such file or directory"), std::string::npos) << o.message;
}

TEST(run_once, a_file_that_is_not_executable_fails_to_spawn_naming_the_path) {
  temp_dir dir;
  const std::string path =
      write_file(dir, "plain.sh", "#!/bin/sh\necho no\n",
                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const auto o = run_command(script_command(path), {});
  EXPECT_EQ(o.what, failure::spawn_failed);
  EXPECT_NE(o.message.find(path), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("Permission denied"), std::string::npos) << o.message;
  EXPECT_TRUE(no_children());  // the child that failed to exec was reaped too
}

TEST(run_once, a_name_is_looked_up_in_the_childs_path) {
  temp_dir dir;
  write_script(dir, "my-tool", "echo found\n");
  command cmd;
  cmd.argv = {"my-tool"};
  cmd.env = {{"PATH", dir.path().string() + ":/usr/bin:/bin"}};
  const auto o = run_command(cmd, {});
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(to_string(o.output), "found\n");

  cmd.argv = {"shfn-no-such-command"};
  const auto missing = run_command(cmd, {});
  EXPECT_EQ(missing.what, failure::spawn_failed);
  EXPECT_NE(missing.message.find("'shfn-no-such-command'"), std::string::npos);
  EXPECT_NE(missing.message.find("not found"), std::string::npos) << missing.message;
}

TEST(run_once, working_dir_and_environment_are_honoured) {
  temp_dir dir;
  const std::string work = dir / "work";
  std::filesystem::create_directory(work);
  command cmd = script_command(
      write_script(dir, "s.sh", "pwd\necho \"$FOO $BAR\"\necho \"${HOME-unset}\"\n"));
  cmd.working_dir = work;
  cmd.env.emplace_back("FOO", "from-command");
  cmd.env.emplace_back("BAR", "kept");
  invocation inv;
  inv.extra_env = {{"FOO", "from-invocation"}};
  const auto o = run_command(cmd, std::move(inv));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(to_string(o.output),
            std::filesystem::canonical(work).string() + "\nfrom-invocation kept\nunset\n");

  cmd.working_dir = dir / "missing";
  const auto bad = run_command(cmd, {});
  EXPECT_EQ(bad.what, failure::spawn_failed);
  EXPECT_NE(bad.message.find(dir / "missing"), std::string::npos) << bad.message;
}

// A signal mask line of /proc/PID/status ("SigIgn:\t0000000000001000").
std::uint64_t status_mask(const std::string& status, const std::string& name) {
  const auto at = status.find(name + ":\t");
  if (at == std::string::npos) return ~std::uint64_t{0};
  return std::stoull(status.substr(at + name.size() + 2, 16), nullptr, 16);
}

TEST(run_once, the_child_gets_default_signals_and_none_of_our_descriptors) {
  temp_dir dir;
  ignore_sigpipe();
  sigset_t usr1, previous;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &usr1, &previous);
  const int leaked = ::open("/dev/null", O_RDONLY);  // not close-on-exec
  ASSERT_GE(leaked, 3);

  command status;
  status.argv = {"cat", "/proc/self/status"};
  status.env = basic_env();
  const auto s = run_command(status, {});
  command fds;
  fds.argv = {"ls", "/proc/self/fd"};
  fds.env = basic_env();
  const auto f = run_command(fds, {});

  ::close(leaked);
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  ASSERT_TRUE(s.ok()) << s.message;
  EXPECT_EQ(status_mask(to_string(s.output), "SigBlk"), 0u);
  // Standard signals only: glibc's posix_spawn itself ignores its internal signals 32 and 33.
  EXPECT_EQ(status_mask(to_string(s.output), "SigIgn") & 0x7fffffffu, 0u) << to_string(s.output);
  ASSERT_TRUE(f.ok()) << f.message;
  EXPECT_EQ(to_string(f.output), "0\n1\n2\n3\n");  // 3: the directory ls is listing
}

TEST(run_once, each_child_leads_its_own_process_group) {
  temp_dir dir;
  const auto o = run_script(dir, "ps -o pid= -o pgid= -p $$\n");
  ASSERT_TRUE(o.ok()) << o.message;
  std::istringstream in(to_string(o.output));
  pid_t pid = 0, pgid = 0;
  in >> pid >> pgid;
  EXPECT_GT(pid, 0);
  EXPECT_EQ(pid, pgid);
  EXPECT_NE(pgid, ::getpgrp());
}

TEST(run_once, no_zombies_and_no_leaked_descriptors_after_many_runs) {
  temp_dir dir;
  limits quick;
  quick.timeout = 100ms;
  quick.kill_grace = 100ms;
  quick.max_output = 1000;
  const std::vector<std::string> bodies = {"cat\n",
                                           "exit 1\n",
                                           "sleep 1000\n",
                                           "trap '' TERM; sleep 1000\n",
                                           "head -c 5000 /dev/zero\n",
                                           "sleep 1000 &\necho bg\n",
                                           "kill -KILL $$\n"};
  asio::io_context io;
  // Counted once the io_context has made its reactor's descriptors.
  const command warm_up = script_command(write_script(dir, "true.sh", "true\n"));
  invocation nothing;
  const line_sink no_sink;
  ASSERT_TRUE(run(io, run_once(warm_up, std::move(nothing), quick, no_sink)));
  const std::size_t descriptors = open_descriptors();
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      const command cmd = script_command(write_script(dir, "s" + std::to_string(i), bodies[i]));
      invocation inv;
      inv.input = to_bytes("some input\n");
      inv.metadata_dir = dir.path().string();
      auto got = run(io, run_once(cmd, std::move(inv), quick, no_sink));
      ASSERT_TRUE(got);
    }
  }
  EXPECT_TRUE(no_children());
  EXPECT_EQ(open_descriptors(), descriptors);
}

// Several invocations at once on one io_context, as the runtime runs them.
asio::awaitable<std::vector<outcome>> run_concurrently(command cmd, int count) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<outcome> results(static_cast<std::size_t>(count));
  int pending = count;
  notifier done;
  for (int i = 0; i < count; ++i) {
    invocation inv;
    inv.extra_args = {std::to_string(i)};
    asio::co_spawn(
        ex,
        [](const command* c, invocation inv, outcome* out, int* left,
           notifier* n) -> asio::awaitable<void> {
          const limits lim;
          const line_sink no_sink;
          *out = co_await run_once(*c, std::move(inv), lim, no_sink);
          --*left;
          n->notify_all();
        }(&cmd, std::move(inv), &results[static_cast<std::size_t>(i)], &pending, &done),
        asio::detached);
  }
  while (pending > 0) co_await done.wait();
  co_return results;
}

TEST(run_once, concurrent_invocations_do_not_mix_up_their_output) {
  temp_dir dir;
  const command cmd = script_command(write_script(dir, "s.sh", "echo \"$1\"\n"));
  asio::io_context io;
  auto results = run(io, run_concurrently(cmd, 20));
  ASSERT_TRUE(results);
  for (std::size_t i = 0; i < results->size(); ++i) {
    ASSERT_TRUE((*results)[i].ok()) << (*results)[i].message;
    EXPECT_EQ(to_string((*results)[i].output), std::to_string(i) + "\n");
  }
  EXPECT_TRUE(no_children());
}

// One invocation right after another, in the same event-loop turn: the pidfd of the first is
// closed while its readiness event may still be queued, and Asio recycles descriptor state, so a
// stale event once completed the next child's exit wait and had it killed mid-run.
TEST(run_once, back_to_back_invocations_are_not_killed_by_a_stale_exit_event) {
  asio::io_context io;
  const auto outcomes = run(io, []() -> asio::awaitable<std::vector<outcome>> {
    command cat;
    cat.argv = {"cat"};
    cat.env = basic_env();
    const limits lim;
    const line_sink ignore = [](std::string_view) {};
    std::vector<outcome> all;
    for (int i = 0; i < 100; ++i) {
      invocation inv;
      inv.input = to_bytes("hello");
      all.push_back(co_await run_once(cat, std::move(inv), lim, ignore));
    }
    co_return all;
  }());
  ASSERT_TRUE(outcomes.has_value());
  for (const auto& o : *outcomes) {
    ASSERT_TRUE(o.ok()) << o.message;
    EXPECT_EQ(to_string(o.output), "hello");
  }
}

}  // namespace
}  // namespace shfn::exec
