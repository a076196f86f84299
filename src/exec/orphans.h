#pragma once
// Scripts that outlive their message. A child's process group is killed when it ends (child.h),
// but a descendant that left the group (setsid, a double fork into a new session) escapes that;
// it would outlive the message, and the runtime, one leaked process per message.
//
// So the runtime makes itself the child subreaper (Linux PR_SET_CHILD_SUBREAPER): every
// descendant whose parent dies is re-parented to it instead of to init. Each time a child of
// ours is reaped, the children of this process that exec did not spawn itself (so: such
// orphans) are SIGKILLed and, once dead, reaped. Their own descendants become orphans in turn
// and go the same way at the next reap. Where the call is refused (not Linux, or a sandbox that
// forbids it), escaped descendants are not tracked and adopt_orphans() says so.
//
// Thread-safe: `shfn run` spawns and reaps on several event loops (flow/shards.h). A sweep on one
// thread must not take for an orphan a child another thread has just spawned and not yet
// tracked, so spawning holds sweeps off (sweep_pause) from before the fork until the child is
// tracked.

#include <sys/types.h>

#include <mutex>

#include "base/result.h"

namespace shfn::exec {

// Makes this process the subreaper of its descendants and turns the sweep on. Call it before
// any other thread spawns.
result<void> adopt_orphans();

// No sweep runs while one is alive (nor may this thread sweep).
class sweep_pause {
 public:
  sweep_pause();

 private:
  std::unique_lock<std::mutex> held_;
};

// A child exec spawned and reaps itself: never taken for an orphan. Tracked under the pause that
// covered its spawn.
void track_child(pid_t pid, const sweep_pause& spawning);
void untrack_child(pid_t pid);

// Kills and reaps the orphans adopted so far; a no-op before adopt_orphans().
void kill_orphans();

}  // namespace shfn::exec
