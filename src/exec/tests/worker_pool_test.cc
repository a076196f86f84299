// Stream mode against real processes: cat, rev, and small bash workers in a temporary directory.
#include "exec/worker_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>

#include "base/notifier.h"
#include "exec/line_buffering.h"
#include "exec/tests/test_support.h"

namespace shfn::exec {
namespace {

using namespace testing;

worker_pool_options options_for(std::vector<std::string> argv, framing f = framing::lines) {
  worker_pool_options o;
  o.cmd.argv = std::move(argv);
  o.cmd.env = basic_env();
  o.frames = f;
  o.restart_initial = 10ms;
  o.restart_max = 50ms;
  return o;
}

// A bash worker: answers each line with itself, except the commands it is written to obey.
constexpr const char* echo_worker = R"(#!/bin/bash
echo $$ > "$PIDFILE.$$"
while IFS= read -r line; do
  case "$line" in
    hang) sleep 1000 ;;
    crash) echo "dying now" >&2; exit 7 ;;
  esac
  echo "got $line" >&2
  printf '%s\n' "$line"
done
)";

// The echo worker, written into `dir`, which it tells its pid (in "pid.<pid>").
worker_pool_options echo_worker_options(const temp_dir& dir) {
  auto o = options_for({write_file(dir, "worker.sh", echo_worker)});
  o.cmd.env.emplace_back("PIDFILE", dir / "pid");
  return o;
}

asio::awaitable<void> collect(worker_pool* pool, bytes input, std::size_t index, outcome* out,
                              int* pending, notifier* done) {
  *out = co_await pool->process(std::move(input), index);
  --*pending;
  done->notify_all();
}

// Sends every input at once (pipelined) to worker `index` and waits for all outcomes.
asio::awaitable<std::vector<outcome>> process_all(worker_pool* pool, std::vector<bytes> inputs,
                                                  std::size_t index) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<outcome> results(inputs.size());
  int pending = static_cast<int>(inputs.size());
  notifier done;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    asio::co_spawn(ex, collect(pool, std::move(inputs[i]), index, &results[i], &pending, &done),
                   asio::detached);
  }
  while (pending > 0) co_await done.wait();
  co_return results;
}

// A started pool on its own io_context, stopped (and checked for leftovers) at the end.
class pool_fixture {
 public:
  explicit pool_fixture(worker_pool_options o)
      : pool_(io_.get_executor(), std::move(o),
              [this](std::string_view line) { stderr_lines_.emplace_back(line); }) {}

  bool start() {
    auto started = run(io_, pool_.start());
    return started && *started;
  }
  outcome process(bytes input, std::size_t index = 0) {
    auto got = run(io_, pool_.process(std::move(input), index));
    return got.value_or(outcome{.what = failure::io_error, .message = "test: did not complete"});
  }
  outcome process(std::string_view input, std::size_t index = 0) {
    return process(to_bytes(input), index);
  }
  std::vector<outcome> process_all(std::vector<bytes> inputs, std::size_t index = 0) {
    return run(io_, testing_process_all(std::move(inputs), index)).value_or(std::vector<outcome>{});
  }
  // One process_batch() of `inputs`, which this frame keeps while it runs.
  std::vector<outcome> process_batch(const std::vector<bytes>& inputs, std::size_t index = 0) {
    std::vector<byte_view> views(inputs.begin(), inputs.end());
    return run(io_, pool_.process_batch(std::move(views), index)).value_or(std::vector<outcome>{});
  }
  void stop() { EXPECT_TRUE(run(io_, pool_.stop())); }
  // Runs the io_context until `condition` holds; false if it does not within 10 s.
  bool run_until(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition() && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_until(deadline);
    }
    io_.restart();
    return condition();
  }

  worker_pool& pool() { return pool_; }
  asio::io_context& io() { return io_; }
  const std::vector<std::string>& stderr_lines() const { return stderr_lines_; }

 private:
  asio::awaitable<std::vector<outcome>> testing_process_all(std::vector<bytes> inputs,
                                                            std::size_t index) {
    return exec::process_all(&pool_, std::move(inputs), index);
  }

  asio::io_context io_;
  std::vector<std::string> stderr_lines_;
  worker_pool pool_;
};

std::vector<bytes> numbered(std::size_t n, const std::string& prefix) {
  std::vector<bytes> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(to_bytes(prefix + std::to_string(i)));
  return out;
}

class cat_worker : public ::testing::TestWithParam<framing> {};

TEST_P(cat_worker, answers_pipelined_requests_in_order) {
  auto o = options_for({"cat"}, GetParam());
  o.workers = 2;
  o.max_in_flight = 8;  // fewer than the requests: some wait for room
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  std::vector<bytes> inputs = numbered(100, "request-");
  if (GetParam() == framing::nul) inputs.push_back(to_bytes("two\nlines"));
  if (GetParam() == framing::length_prefixed) {
    inputs.push_back(random_bytes(100000));  // NUL, newlines and invalid UTF-8
    inputs.push_back(bytes());
  }
  for (std::size_t worker = 0; worker < 2; ++worker) {
    const auto results = p.process_all(inputs, worker);
    ASSERT_EQ(results.size(), inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].message;
      EXPECT_TRUE(results[i].output == inputs[i]) << i;
    }
  }
  EXPECT_EQ(p.pool().restarts(), 0u);
  p.stop();
  EXPECT_TRUE(no_children());
}

INSTANTIATE_TEST_SUITE_P(worker_pool, cat_worker,
                         ::testing::Values(framing::lines, framing::nul, framing::length_prefixed),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(worker_pool, rev_answers_each_line) {
  // rev writes through stdio, fully buffered on a pipe: a worker must flush each response.
  pool_fixture p(options_for({"stdbuf", "-oL", "rev"}));
  ASSERT_TRUE(p.start());
  EXPECT_EQ(to_string(p.process("stressed").output), "desserts");
  EXPECT_EQ(to_string(p.process("drawer").output), "reward");
  p.stop();
}

// Without stdbuf: the pool makes C stdio line-buffered for the lines framing, so a lone line
// comes back at once, from rev itself and from a rev a bash worker runs.
TEST(worker_pool, c_filters_answer_each_line_as_they_are_written) {
  if (!find_libstdbuf()) GTEST_SKIP() << "this system has no libstdbuf.so (coreutils)";
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"rev"}, std::vector<std::string>{"bash", "-c", "rev"}}) {
    auto o = options_for(argv);
    o.lim.timeout = 20s;  // before the fix: rev sat on the line until this killed it
    pool_fixture p(std::move(o));
    ASSERT_TRUE(p.start());
    const auto answer = p.process("stressed");
    ASSERT_TRUE(answer.ok()) << argv.back() << ": " << answer.message;
    EXPECT_EQ(to_string(answer.output), "desserts");
    EXPECT_EQ(to_string(p.process("drawer").output), "reward");
    p.stop();
  }
}

// A worker that holds its answers in a full buffer (here rev, its buffering asked back with
// _STDBUF_O) is named in a notice, once, with the fix; the request then times out as before.
TEST(worker_pool, a_worker_sitting_on_its_input_is_named_with_the_fix) {
  std::vector<std::string> notices;
  auto o = options_for({"rev"});
  o.cmd.env.emplace_back("_STDBUF_O", "65536");
  o.lim.timeout = 2s;
  o.sitting_after = 100ms;
  o.on_notice = [&notices](std::string_view line) { notices.emplace_back(line); };
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  EXPECT_EQ(p.process("stressed").what, failure::timeout);
  EXPECT_EQ(p.process("drawer").what, failure::timeout);
  ASSERT_EQ(notices.size(), 1u) << "once per pool";
  EXPECT_NE(notices[0].find("(rev)"), std::string::npos) << notices[0];
  EXPECT_NE(notices[0].find("stdbuf -oL rev"), std::string::npos) << notices[0];
  p.stop();
}

TEST(worker_pool, a_payload_the_framing_cannot_carry_fails_alone) {
  pool_fixture lines(options_for({"cat"}, framing::lines));
  ASSERT_TRUE(lines.start());
  const auto rejected = lines.process("two\nlines");
  EXPECT_EQ(rejected.what, failure::input_rejected);
  EXPECT_NE(rejected.message.find("newline"), std::string::npos) << rejected.message;
  EXPECT_EQ(to_string(lines.process("one line").output), "one line");
  EXPECT_EQ(lines.pool().restarts(), 0u);
  lines.stop();

  pool_fixture nul(options_for({"cat"}, framing::nul));
  ASSERT_TRUE(nul.start());
  const auto refused = nul.process(std::string_view("a\0b", 3));
  EXPECT_EQ(refused.what, failure::input_rejected);
  EXPECT_NE(refused.message.find("NUL"), std::string::npos) << refused.message;
  EXPECT_EQ(to_string(nul.process("fine").output), "fine");
  nul.stop();
}

TEST(worker_pool, a_timeout_restarts_the_worker_and_later_requests_succeed) {
  temp_dir dir;
  auto o = echo_worker_options(dir);
  o.lim.timeout = 300ms;
  o.lim.kill_grace = 200ms;
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  ASSERT_EQ(to_string(p.process("before").output), "before");
  const auto results = p.process_all({to_bytes("hang"), to_bytes("behind")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].what, failure::timeout);
  EXPECT_NE(results[0].message.find("300 ms"), std::string::npos) << results[0].message;
  EXPECT_EQ(results[1].what, failure::worker_restarted);
  EXPECT_EQ(results[0].stderr_tail, "got before\n");
  const auto later = p.process("later");
  ASSERT_TRUE(later.ok()) << later.message;
  EXPECT_EQ(to_string(later.output), "later");
  EXPECT_EQ(p.pool().restarts(), 1u);
  p.stop();
  EXPECT_TRUE(no_children());
}

TEST(worker_pool, a_crash_fails_the_requests_in_flight_and_the_worker_comes_back) {
  temp_dir dir;
  auto o = echo_worker_options(dir);
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  const auto results = p.process_all({to_bytes("ok"), to_bytes("crash"), to_bytes("behind")});
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0].ok()) << results[0].message;
  for (std::size_t i : {1u, 2u}) {
    EXPECT_EQ(results[i].what, failure::worker_crashed);
    EXPECT_EQ(results[i].exit_code, 7);
    EXPECT_NE(results[i].message.find("exited with code 7"), std::string::npos)
        << results[i].message;
    EXPECT_NE(results[i].stderr_tail.find("dying now"), std::string::npos);
  }
  const auto later = p.process("later");
  ASSERT_TRUE(later.ok()) << later.message;
  EXPECT_EQ(p.pool().restarts(), 1u);
  p.stop();
  const auto& lines = p.stderr_lines();
  EXPECT_NE(std::find(lines.begin(), lines.end(), "dying now"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "got later"), lines.end());
}

TEST(worker_pool, a_worker_that_keeps_dying_is_restarted_again_and_again) {
  temp_dir dir;
  auto o = options_for({write_script(dir, "worker.sh", "echo broken >&2\nexit 3\n")});
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  for (int i = 0; i < 3; ++i) {
    const auto r = p.process("anything");
    EXPECT_EQ(r.what, failure::worker_crashed);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.stderr_tail, "broken\n");
  }
  EXPECT_GE(p.pool().restarts(), 2u);
  p.stop();
  EXPECT_TRUE(no_children());
}

TEST(worker_pool, a_response_over_the_cap_fails_that_request_and_restarts_the_worker) {
  for (framing f : {framing::lines, framing::length_prefixed}) {
    auto o = options_for({"cat"}, f);
    o.lim.max_output = 16;
    pool_fixture p(std::move(o));
    ASSERT_TRUE(p.start());
    const auto results =
        p.process_all({to_bytes("short"), to_bytes(std::string(100, 'a')), to_bytes("behind")});
    ASSERT_EQ(results.size(), 3u);
    EXPECT_TRUE(results[0].ok()) << results[0].message;
    EXPECT_EQ(results[1].what, failure::output_too_large) << to_string(f);
    EXPECT_NE(results[1].message.find("16 bytes"), std::string::npos) << results[1].message;
    EXPECT_EQ(results[2].what, failure::worker_restarted);
    const auto later = p.process("again");
    ASSERT_TRUE(later.ok()) << later.message;
    EXPECT_EQ(to_string(later.output), "again");
    EXPECT_EQ(p.pool().restarts(), 1u);
    p.stop();
  }
}

TEST(worker_pool, a_worker_answering_twice_is_restarted_before_the_stream_shifts) {
  temp_dir dir;
  // One atomic write (coreutils printf flushes once) holding the answer and a line nobody asked
  // for, then an honest cat. Split across two writes, the extra line could not be told from
  // the answer to the next request: FIFO matching trusts the worker for that.
  auto o = options_for({write_file(
      dir, "w.sh", "#!/bin/bash\nread -r l\n/usr/bin/printf '%s\\nextra\\n' \"$l\"\nexec cat\n")});
  o.cmd.env.emplace_back("_STDBUF_O", "65536");  // printf's stdout fully buffered, as on a pipe
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  const auto first = p.process("x");
  ASSERT_TRUE(first.ok()) << first.message;
  EXPECT_EQ(to_string(first.output), "x");
  // Not "extra": the worker that wrote it was taken out of service.
  const auto second = p.process("y");
  ASSERT_TRUE(second.ok()) << second.message;
  EXPECT_EQ(to_string(second.output), "y");
  EXPECT_GE(p.pool().restarts(), 1u);
  p.stop();
}

TEST(worker_pool, restarts_wait_out_the_back_off_and_stop_cuts_it_short) {
  temp_dir dir;
  auto o = echo_worker_options(dir);
  o.restart_initial = o.restart_max = std::chrono::minutes(10);
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  EXPECT_EQ(p.process("crash").what, failure::worker_crashed);
  outcome waiting;
  int pending = 1;
  notifier done;
  bytes next = to_bytes("next");
  asio::co_spawn(p.io(), collect(&p.pool(), std::move(next), 0, &waiting, &pending, &done),
                 asio::detached);
  p.io().run_for(300ms);  // far inside the back-off: no worker to take the request yet
  EXPECT_EQ(pending, 1);
  EXPECT_EQ(p.pool().restarts(), 0u);
  p.stop();
  EXPECT_TRUE(p.run_until([&] { return pending == 0; }));
  EXPECT_EQ(waiting.what, failure::worker_restarted);
  EXPECT_TRUE(no_children());
}

TEST(worker_pool, a_worker_that_cannot_be_restarted_fails_requests_until_it_can) {
  temp_dir dir;
  const std::string script = write_file(dir, "worker.sh", echo_worker);
  auto o = options_for({script});
  o.cmd.env.emplace_back("PIDFILE", dir / "pid");
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  std::filesystem::remove(script);
  EXPECT_EQ(p.process("crash").what, failure::worker_crashed);
  const auto refused = p.process("x");
  EXPECT_EQ(refused.what, failure::spawn_failed);
  EXPECT_NE(refused.message.find(script), std::string::npos) << refused.message;
  write_file(dir, "worker.sh", echo_worker);
  outcome back;
  EXPECT_TRUE(eventually([&] {
    back = p.process("back");
    return back.what != failure::spawn_failed;
  }));
  EXPECT_TRUE(back.ok()) << back.message;
  p.stop();
}

TEST(worker_pool, a_batch_is_answered_in_order_with_a_rejected_payload_in_its_place) {
  auto o = options_for({"cat"});
  o.max_in_flight = 4;  // smaller than the batch: an idle worker takes it whole
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  std::vector<bytes> inputs = numbered(10, "b");
  inputs.insert(inputs.begin() + 3, to_bytes("two\nlines"));
  const auto results = p.process_batch(inputs);
  ASSERT_EQ(results.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (i == 3) {
      EXPECT_EQ(results[i].what, failure::input_rejected);
      continue;
    }
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].message;
    EXPECT_EQ(to_string(results[i].output), to_string(inputs[i])) << i;
  }
  EXPECT_EQ(p.process_batch({to_bytes("x\n")}).front().what, failure::input_rejected);
  EXPECT_TRUE(p.process_batch({}).empty());
  EXPECT_EQ(p.pool().restarts(), 0u);
  p.stop();
}

// Each request of a batch keeps its own fate: the one that hangs times out, those behind it
// are failed by the restart, those before it were answered.
TEST(worker_pool, a_timeout_inside_a_batch_fails_that_request_and_restarts_the_rest) {
  temp_dir dir;
  auto o = echo_worker_options(dir);
  o.lim.timeout = 300ms;
  o.lim.kill_grace = 200ms;
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  const auto results =
      p.process_batch({to_bytes("first"), to_bytes("hang"), to_bytes("behind"), to_bytes("last")});
  ASSERT_EQ(results.size(), 4u);
  ASSERT_TRUE(results[0].ok()) << results[0].message;
  EXPECT_EQ(to_string(results[0].output), "first");
  EXPECT_EQ(results[1].what, failure::timeout);
  EXPECT_EQ(results[2].what, failure::worker_restarted);
  EXPECT_EQ(results[3].what, failure::worker_restarted);
  const auto crashed = p.process_batch({to_bytes("ok"), to_bytes("crash"), to_bytes("behind")});
  ASSERT_EQ(crashed.size(), 3u);
  EXPECT_TRUE(crashed[0].ok()) << crashed[0].message;
  EXPECT_EQ(crashed[1].what, failure::worker_crashed);
  EXPECT_EQ(crashed[1].exit_code, 7);
  EXPECT_EQ(crashed[2].what, failure::worker_crashed);
  EXPECT_EQ(to_string(p.process("later").output), "later");
  EXPECT_EQ(p.pool().restarts(), 2u);
  p.stop();
  EXPECT_TRUE(no_children());
}

TEST(worker_pool, no_more_than_max_in_flight_requests_are_handed_to_a_worker) {
  temp_dir dir;
  const std::string seen = dir / "seen";
  // Records each request and never answers.
  auto o = options_for({write_file(
      dir, "w.sh", "#!/bin/bash\nwhile IFS= read -r l; do echo \"$l\" >> " + seen + "; done\n")});
  o.max_in_flight = 2;
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  std::vector<outcome> results(3);
  int pending = 3;
  notifier done;
  for (std::size_t i = 0; i < 3; ++i) {
    bytes input = to_bytes("r" + std::to_string(i));
    asio::co_spawn(p.io(), collect(&p.pool(), std::move(input), 0, &results[i], &pending, &done),
                   asio::detached);
  }
  const auto lines = [&] {
    const std::string text = read_text(seen);
    return std::count(text.begin(), text.end(), '\n');
  };
  EXPECT_TRUE(p.run_until([&] { return lines() == 2; }));
  p.io().run_for(200ms);  // time enough for a third line, were it sent
  p.io().restart();
  EXPECT_EQ(lines(), 2);
  EXPECT_EQ(read_text(seen), "r0\nr1\n");
  p.stop();
  EXPECT_TRUE(p.run_until([&] { return pending == 0; }));
  for (const auto& r : results) EXPECT_EQ(r.what, failure::worker_restarted);
}

TEST(worker_pool, stop_lets_outstanding_requests_finish_then_refuses_new_ones) {
  pool_fixture p(options_for({"cat"}));
  ASSERT_TRUE(p.start());
  auto inputs = numbered(20, "r");
  std::vector<outcome> results(inputs.size());
  int pending = static_cast<int>(inputs.size());
  notifier done;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    asio::co_spawn(p.io(), collect(&p.pool(), inputs[i], 0, &results[i], &pending, &done),
                   asio::detached);
  }
  p.stop();
  EXPECT_TRUE(p.run_until([&] { return pending == 0; }));
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].message;
    EXPECT_TRUE(results[i].output == inputs[i]);
  }
  const auto after = p.process("late");
  EXPECT_EQ(after.what, failure::worker_restarted);
  EXPECT_NE(after.message.find("stopped"), std::string::npos);
  EXPECT_FALSE(p.start());  // a stopped pool stays stopped
  EXPECT_TRUE(no_children());
}

TEST(worker_pool, stop_kills_a_worker_that_ignores_the_end_of_its_input) {
  temp_dir dir;
  auto o = options_for({write_script(
      dir, "w.sh", "trap '' TERM\necho $$ > " + (dir / "pid").string() + "\nsleep 1000\n")});
  o.lim.kill_grace = 200ms;
  pool_fixture p(std::move(o));
  ASSERT_TRUE(p.start());
  outcome stuck;
  int pending = 1;
  notifier done;
  bytes never_answered = to_bytes("never answered");
  asio::co_spawn(p.io(), collect(&p.pool(), std::move(never_answered), 0, &stuck, &pending, &done),
                 asio::detached);
  const pid_t group = read_pid(dir / "pid");
  p.stop();
  EXPECT_TRUE(p.run_until([&] { return pending == 0; }));
  EXPECT_EQ(stuck.what, failure::worker_restarted);
  EXPECT_TRUE(eventually([&] { return group_dead(group); }));
  EXPECT_TRUE(no_children());
}

TEST(worker_pool, start_fails_for_a_command_that_cannot_run) {
  pool_fixture p(options_for({"/nonexistent/worker"}));
  EXPECT_FALSE(p.start());
  EXPECT_NE(p.pool().start_error().find("'/nonexistent/worker'"), std::string::npos)
      << p.pool().start_error();
  const auto r = p.process("x");
  EXPECT_EQ(r.what, failure::spawn_failed);
  EXPECT_TRUE(no_children());

  auto none = options_for({"cat"});
  none.workers = 0;
  pool_fixture empty(std::move(none));
  EXPECT_FALSE(empty.start());
}

TEST(worker_pool, destroying_a_running_pool_leaves_no_process_behind) {
  temp_dir dir;
  std::vector<pid_t> groups;
  {
    auto o = echo_worker_options(dir);
    o.workers = 3;
    pool_fixture p(std::move(o));
    ASSERT_TRUE(p.start());
    for (std::size_t i = 0; i < 3; ++i) {
      bytes hang = to_bytes("hang");
      asio::co_spawn(p.io(), p.pool().process(std::move(hang), i), asio::detached);
    }
    ASSERT_TRUE(eventually([&] {
      p.io().poll();
      return std::distance(std::filesystem::directory_iterator(dir.path()),
                           std::filesystem::directory_iterator()) == 4;
    }));
    for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
      if (f.path().filename().string().starts_with("pid.")) groups.push_back(read_pid(f.path()));
    }
  }
  ASSERT_EQ(groups.size(), 3u);
  for (pid_t g : groups) EXPECT_TRUE(eventually([&] { return group_dead(g); }));
  EXPECT_TRUE(no_children());
}

}  // namespace
}  // namespace shfn::exec
