#pragma once
// The running half of `shfn test` (docs/flow-tests.md): one test file's cases against its spec,
// on a fresh embedded broker (127.0.0.1:0, data in a temporary directory, no fsync) and one flow
// runtime, both in this process. Each case subscribes to its expected topics at their latest
// position, sends its messages in order, waits until every expected message has arrived (or the
// timeout), then until the flow is quiescent (at most the settle period), and is judged
// (messages.h). Printing is the caller's: src/cli/test.cc.
//
// Threads: the broker on a thread of its own; the runtime, the client and the cases on one
// io_context on the calling thread, which run_test_file() runs until the file is done.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "config/spec.h"
#include "flowtest/test_file.h"

namespace shfn::flowtest {

struct case_outcome {
  bool ok = true;
  std::vector<std::string> lines;    // why it failed
  std::vector<std::string> display;  // what `display` steps printed during the case
  std::vector<std::string> log;      // the log lines of the case (run_hooks::take_log)
};

struct run_hooks {
  // Whether to run a case (`shfn test --only`); all when empty.
  std::function<bool(const test_case&)> selected;
  // The log lines since the last call: the caller captures the process's log (the runtime's and
  // the broker's) so that each case's can be shown under it.
  std::function<std::vector<std::string>()> take_log;
  // After each case that ran.
  std::function<void(const test_case&, const case_outcome&, std::chrono::steady_clock::duration)>
      on_case;
};

// Runs the selected cases of `test`, whose spec is `spec` (both loaded and resolved). Returns
// why they did not all run (no broker, the flow did not start, the driver failed), empty when
// every selected case ran and was reported through on_case.
std::string run_test_file(const test_file& test, const config::spec_file& spec,
                          const run_hooks& hooks);

}  // namespace shfn::flowtest
