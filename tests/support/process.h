#pragma once
// A child process for end-to-end tests: started with posix_spawnp (argv, a bare name found on
// PATH, never a shell), its stdout on a pipe we read lines from, killed with any signal.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace shfn::testing {

class child_process {
 public:
  // Starts argv[0] with the given arguments; stderr is inherited (it ends up in the test log).
  static std::optional<child_process> spawn(const std::vector<std::string>& argv);
  child_process(child_process&& o) noexcept;
  child_process& operator=(child_process&& o) noexcept;
  ~child_process();  // SIGKILLs and reaps a child still running

  // The next line of stdout without its newline; nullopt at EOF or when `timeout` passes.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Sends `signal` and waits for the child to exit; returns its wait status.
  int kill_and_wait(int signal);
  pid_t pid() const { return pid_; }

 private:
  child_process(pid_t pid, int out) : pid_(pid), out_(out) {}

  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffered_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, close).
int free_port();

}  // namespace shfn::testing
