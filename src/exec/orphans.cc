#include "exec/orphans.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

#include "base/log.h"

namespace shfn::exec {

namespace {

bool adopting = false;
std::set<pid_t> tracked;       // spawned by exec, reaped by their child objects
std::set<pid_t> killed_early;  // orphans sent SIGKILL, not reaped yet

// Every child of this process: each thread has its own list of the children it is parent of.
std::set<pid_t> children_of_this_process() {
  std::set<pid_t> pids;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream list(task.path() / "children");
    pid_t pid = 0;
    while (list >> pid) pids.insert(pid);
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

void track_child(pid_t pid) {
  tracked.insert(pid);
}

void untrack_child(pid_t pid) {
  tracked.erase(pid);
}

void kill_orphans() {
  if (!adopting) return;
  for (const pid_t pid : children_of_this_process()) {
    if (tracked.contains(pid) || killed_early.contains(pid)) continue;
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
