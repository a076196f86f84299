#include "exec/orphans.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "base/log.h"
#include "base/unique_fd.h"

namespace shfn::exec {

namespace {

bool adopting = false;         // set before any other thread spawns
std::mutex sweeping;           // guards the two sets, and a sweep against a spawn
std::set<pid_t> tracked;       // spawned by exec, reaped by their child objects
std::set<pid_t> killed_early;  // orphans sent SIGKILL, not reaped yet

// The children of this process's main thread. Each thread has its own list of the children it
// is parent of, and the kernel re-parents an orphan to the subreaper's first live thread: the
// main thread, which lives as long as the process. One small read, since a sweep follows every
// reap (once per message in exec mode).
std::vector<pid_t> children_of_the_main_thread() {
  static const std::string path = "/proc/self/task/" + std::to_string(::getpid()) + "/children";
  std::vector<pid_t> pids;
  const unique_fd list(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (list.get() < 0) return pids;
  std::array<char, 4096> text{};
  const ssize_t n = ::read(list.get(), text.data(), text.size() - 1);  // pids, space-separated
  if (n <= 0) return pids;
  const char* at = text.data();
  char* end = nullptr;
  for (long pid = std::strtol(at, &end, 10); end != at; pid = std::strtol(at, &end, 10)) {
    pids.push_back(static_cast<pid_t>(pid));
    at = end;
  }
  return pids;
}

}  // namespace

result<void> adopt_orphans() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return fail(std::error_code(errno, std::system_category()));
  }
  adopting = true;
  return {};
}

sweep_pause::sweep_pause() : held_(sweeping) {}

void track_child(pid_t pid, const sweep_pause&) {
  tracked.insert(pid);
}

void untrack_child(pid_t pid) {
  const std::lock_guard held(sweeping);
  tracked.erase(pid);
}

void kill_orphans() {
  if (!adopting) return;
  const std::lock_guard held(sweeping);
  for (const pid_t pid : children_of_the_main_thread()) {
    if (tracked.contains(pid) || killed_early.contains(pid)) continue;
    // One that has ended already (its parent died first, both killed by one signal to the
    // group) only needs reaping: nothing escaped.
    if (::waitpid(pid, nullptr, WNOHANG) == pid) continue;
    spdlog::info(
        "killing process {}: started by a script that has ended (it left the "
        "script's process group)",
        pid);
    ::kill(pid, SIGKILL);
    killed_early.insert(pid);
  }
  for (auto it = killed_early.begin(); it != killed_early.end();) {
    const pid_t done = ::waitpid(*it, nullptr, WNOHANG);
    const bool gone = done == *it || (done < 0 && errno == ECHILD);
    it = gone ? killed_early.erase(it) : std::next(it);
  }
}

}  // namespace shfn::exec
