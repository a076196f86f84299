#pragma once
// Helpers for the executor's tests: a fresh temporary directory, scripts written into it,
// running a coroutine to completion under a deadline, and checks on processes that are not
// our children (polled until a deadline, never slept on).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "base/bytes.h"
#include "base/temp_dir.h"
#include "exec/command.h"

namespace shfn::exec::testing {

using namespace std::chrono_literals;

using shfn::temp_dir;

// Writes `body` to dir/name with mode `mode`; returns the path.
inline std::string write_file(const temp_dir& dir, const std::string& name, const std::string& body,
                              std::filesystem::perms mode = std::filesystem::perms::owner_all) {
  const std::string path = dir / name;
  std::ofstream(path, std::ios::binary) << body;
  std::filesystem::permissions(path, mode);
  return path;
}

// An executable /bin/sh script.
inline std::string write_script(const temp_dir& dir, const std::string& name,
                                const std::string& body) {
  return write_file(dir, name, "#!/bin/sh\n" + body);
}

// The environment children get in these tests: a PATH and nothing else.
inline std::vector<std::pair<std::string, std::string>> basic_env() {
  return {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
}

inline command script_command(const std::string& path) {
  command c;
  c.argv = {path};
  c.env = basic_env();
  return c;
}

inline bytes to_bytes(std::string_view s) {
  return bytes(s.begin(), s.end());
}
inline std::string to_string(const bytes& b) {
  return std::string(b.begin(), b.end());
}

inline bytes random_bytes(std::size_t n, unsigned seed = 42) {
  std::mt19937 rng(seed);
  bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

// Runs `a` on `io` until it completes; a test failure if it does not within `limit`.
template <class T>
std::optional<T> run(asio::io_context& io, asio::awaitable<T> a, std::chrono::seconds limit = 60s) {
  // Shared with the completion handler, which may run after we gave up on it.
  struct state {
    std::optional<T> value;
    std::exception_ptr error;
    bool done = false;
  };
  auto st = std::make_shared<state>();
  asio::co_spawn(io, std::move(a), [st](std::exception_ptr e, T v) {
    st->error = e;
    if (!e) st->value = std::move(v);
    st->done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!st->done && std::chrono::steady_clock::now() < deadline) {
    if (io.run_one_until(deadline) == 0 && io.stopped()) break;
  }
  io.restart();
  if (!st->done) ADD_FAILURE() << "did not complete within " << limit.count() << " s";
  if (st->error) std::rethrow_exception(st->error);
  return std::move(st->value);
}

// The same for a coroutine with no value; false when it did not complete.
inline bool run(asio::io_context& io, asio::awaitable<void> a, std::chrono::seconds limit = 60s) {
  return run(
             io,
             [](asio::awaitable<void> inner) -> asio::awaitable<bool> {
               co_await std::move(inner);
               co_return true;
             }(std::move(a)),
             limit)
      .value_or(false);
}

// Polls `condition` until it holds or `limit` passes.
inline bool eventually(const std::function<bool()>& condition, std::chrono::seconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A pid a script wrote to `path` (with a newline), once it is there.
inline pid_t read_pid(const std::string& path) {
  pid_t pid = 0;
  eventually([&] {
    const std::string text = read_text(path);
    if (text.empty() || text.back() != '\n') return false;
    pid = static_cast<pid_t>(std::stol(text));
    return true;
  });
  return pid;
}

// The state letter of /proc/PID/stat ('R', 'S', 'Z', ...), or 0 when there is no such process.
inline char process_state(pid_t pid) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return 0;
  return stat[paren + 2];
}

// Gone, or a zombie waiting for a parent that is not us: either way it runs no more.
inline bool process_dead(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  return process_state(pid) == 'Z';
}

// No live process left in process group `pgid`.
inline bool group_dead(pid_t pgid) {
  if (::kill(-pgid, 0) != 0 && errno == ESRCH) return true;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (::getpgid(pid) == pgid && !process_dead(pid)) return false;
  }
  return true;
}

// Neither a running nor an unreaped child of ours.
inline bool no_children() {
  int status = 0;
  return ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

inline std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace shfn::exec::testing
