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
// Not thread-safe: everything that spawns and reaps (the runtime's event loop) is one thread.

#include <sys/types.h>

#include "base/result.h"

namespace shfn::exec {

// Makes this process the subreaper of its descendants and turns the sweep on.
result<void> adopt_orphans();

// A child exec spawned and reaps itself: never taken for an orphan.
void track_child(pid_t pid);
void untrack_child(pid_t pid);

// Kills and reaps the orphans adopted so far; a no-op before adopt_orphans().
void kill_orphans();

}  // namespace shfn::exec
