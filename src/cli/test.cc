// `shfn test TESTFILE...`: flow tests (docs/flow-tests.md), run without a cluster.
//
// Every test file is loaded and checked first (with its spec); any error there is printed as
// FILE:LINE:COL: FIELD: MESSAGE and nothing runs (exit 2). Then each file's cases run on a fresh
// embedded broker and flow runtime in this process (src/flowtest/runner.h), and each case's
// verdict is printed as it comes, with the log and what `display` steps printed under a case
// that fails. Exit 0 when every case passed, 1 otherwise.

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>

#include "cli/common.h"
#include "config/spec.h"
#include "exec/process.h"
#include "flow/cron_source.h"
#include "flowtest/runner.h"
#include "flowtest/test_file.h"

namespace shfn::cli {
namespace {

using namespace std::chrono_literals;

using clock = std::chrono::steady_clock;

constexpr int exit_failed = 1;
constexpr int exit_bad_file = 2;

struct test_flags {
  std::vector<std::string> files;
  std::string only;  // run only the cases whose name contains this
  bool verbose = false;
};

// A test file that loaded, with the spec it runs.
struct prepared {
  flowtest::test_file test;
  config::spec_file spec;
};

void print_errors(const std::vector<config::spec_error>& errors) {
  for (const auto& e : errors) fmt::print(stderr, "{}\n", e.to_string());
}

std::optional<prepared> prepare(const std::string& path) {
  auto test = flowtest::load_test_file(path);
  if (!test) {
    print_errors(test.error());
    return std::nullopt;
  }
  auto spec = config::load_file(test->spec);
  if (!spec) {
    print_errors(spec.error());
    print_errors({{test->spec_at.where, test->spec_at.field,
                   fmt::format("the spec {} does not load (see above)", test->spec)}});
    return std::nullopt;
  }
  auto unresolved = flowtest::resolve(*test, *spec);
  if (test->clock) {
    if (auto clock = flow::source_clock::parse(*test->clock); !clock)
      unresolved.push_back({test->clock_at.where, test->clock_at.field,
                            "invalid clock: " + clock.error().message() +
                                " (expected e.g. \"2026-01-01T00:00:00Z\" or "
                                "\"2026-01-01T00:00:00Z*60\")"});
  }
  if (!unresolved.empty()) {
    print_errors(unresolved);
    return std::nullopt;
  }
  return prepared{std::move(*test), std::move(*spec)};
}

bool selected(const flowtest::test_case& c, const test_flags& f) {
  return f.only.empty() || c.name.find(f.only) != std::string::npos;
}

// The runtime's log (and the broker's, from its thread) while tests run: kept per case and shown
// under a case that fails, instead of interleaved with the results.
class log_capture final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> take() {
    const std::lock_guard lock(mutex_);
    return std::exchange(lines_, {});
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    std::string line(buf.data(), buf.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (lines_.size() < max_lines) lines_.push_back(std::move(line));
  }
  void flush_() override {}

 private:
  static constexpr std::size_t max_lines = 200;  // a retry loop must not fill the memory
  std::vector<std::string> lines_;
};

// Sends the default logger to a log_capture while alive.
class capture_logs {
 public:
  capture_logs() : logger_(spdlog::default_logger()), saved_(logger_->sinks()) {
    sink_->set_pattern("%l %v");
    logger_->sinks() = {sink_};
  }
  ~capture_logs() { logger_->sinks() = saved_; }
  capture_logs(const capture_logs&) = delete;
  capture_logs& operator=(const capture_logs&) = delete;

  std::vector<std::string> take() { return sink_->take(); }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<spdlog::sink_ptr> saved_;
  std::shared_ptr<log_capture> sink_ = std::make_shared<log_capture>();
};

// Lines of `blocks` (each may hold several), indented under a heading.
void print_block(std::string_view heading, const std::vector<std::string>& blocks) {
  if (blocks.empty()) return;
  fmt::print("        {}:\n", heading);
  for (const auto& block : blocks) {
    std::size_t start = 0;
    while (start < block.size()) {
      auto end = block.find('\n', start);
      if (end == std::string::npos) end = block.size();
      fmt::print("          {}\n", std::string_view(block).substr(start, end - start));
      start = end + 1;
    }
  }
}

void print_outcome(const flowtest::test_case& tc, const flowtest::case_outcome& o,
                   clock::duration took, bool verbose) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  fmt::print("  {:<5} {} ({:.2f}s)\n", o.ok ? "ok" : "FAIL", tc.name,
             static_cast<double>(ms) / 1000);
  for (const auto& line : o.lines) fmt::print("        {}\n", line);
  if (!o.ok || verbose) {
    print_block("display printed", o.display);
    print_block("log", o.log);
  }
  std::fflush(stdout);
}

// ---- one file ----

struct totals {
  int passed = 0;
  int failed = 0;
};

void run_file(const prepared& p, const test_flags& f, capture_logs& logs, totals& t) {
  fmt::print("{} (spec {})\n", p.test.path, p.test.spec);
  std::fflush(stdout);
  int selected_count = 0;
  for (const auto& tc : p.test.cases) selected_count += selected(tc, f) ? 1 : 0;
  int reported = 0;
  const flowtest::run_hooks hooks{
      .selected = [&f](const flowtest::test_case& tc) { return selected(tc, f); },
      .take_log = [&logs] { return logs.take(); },
      .on_case =
          [&](const flowtest::test_case& tc, const flowtest::case_outcome& o,
              clock::duration took) {
            print_outcome(tc, o, took, f.verbose);
            (o.ok ? t.passed : t.failed) += 1;
            ++reported;
          }};
  const std::string not_run = flowtest::run_test_file(p.test, p.spec, hooks);
  if (!not_run.empty()) {
    fmt::print("  FAIL  {}\n", not_run);
    print_block("log", logs.take());
    t.failed += std::max(1, selected_count - reported);
  }
}

int run_tests(const test_flags& f) {
  std::vector<prepared> files;
  bool bad = false;
  for (const auto& path : f.files) {
    auto p = prepare(path);
    if (p)
      files.push_back(std::move(*p));
    else
      bad = true;
  }
  if (bad) return exit_bad_file;
  bool any = false;
  for (const auto& p : files)
    for (const auto& tc : p.test.cases) any = any || selected(tc, f);
  if (!any) {
    error("nothing to run", "no test case's name contains \"" + f.only + "\"");
    return exit_bad_file;
  }
  exec::ignore_sigpipe();
  totals t;
  {
    // Installed before any broker thread starts and removed after the last has been joined:
    // the logger's sinks must not change while another thread logs.
    capture_logs logs;
    for (const auto& p : files) run_file(p, f, logs, t);
  }
  fmt::print("{} passed, {} failed\n", t.passed, t.failed);
  return t.failed == 0 ? 0 : exit_failed;
}

}  // namespace

void setup_test(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<test_flags>();
  auto* cmd = app.add_subcommand(
      "test", "Run flow tests: send events, expect events on topics (docs/flow-tests.md)");
  cmd->add_option("files", f->files, "Test files (YAML)")->required();
  cmd->add_option("--only", f->only, "Run only the test cases whose name contains this text");
  cmd->add_flag("-v,--verbose", f->verbose,
                "Show what display steps printed and the runtime's log (at info level) under every "
                "case, not only under those that fail");
  cmd->callback([f, &exit_code] {
    if (f->verbose && std::getenv("SHFN_LOG") == nullptr) spdlog::set_level(spdlog::level::info);
    exit_code = run_tests(*f);
  });
}

}  // namespace shfn::cli
