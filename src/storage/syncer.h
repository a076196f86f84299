#pragma once
// Group commit: one background thread that runs fdatasyncs off the broker's I/O thread.
//
// The broker appends on its I/O thread and calls request(x) after each batch of appends. While
// a sync is running, further requests pile up; the thread then takes every pending request at
// once, each object only once however often it was requested, so N appends arriving during one
// fdatasync cost one more fdatasync, not N.
//
// With a `min_interval`, a sync also starts no sooner than that after the previous one started:
// requests arriving meanwhile share it. A request after a quiet spell still starts at once, so
// the wait only costs latency while syncs follow each other closely, and it bounds how many
// fdatasyncs a second the broker makes (each one is disk flushes and, in a virtual machine,
// exits to the hypervisor: far more CPU than the write it covers).
//
// Ownership: the syncer owns its thread and shares ownership of the queued objects until their
// sync_now() has returned. request() is safe from any thread; sync_now() runs on the syncer's
// thread and must not throw (the broker posts its result back to its own executor there).

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

namespace shfn::storage {

struct syncable {
  virtual ~syncable();
  virtual void sync_now() = 0;
};

struct syncer_options {
  std::chrono::microseconds min_interval{0};  // between the starts of two syncs (see above)
};

class syncer {
 public:
  explicit syncer(syncer_options options = {});
  syncer(const syncer&) = delete;
  syncer& operator=(const syncer&) = delete;
  ~syncer();

  // Queues `target` for a sync_now() that starts after this call; a no-op when it is already
  // queued and not yet started. After stop(), runs sync_now() on the calling thread instead,
  // so that nobody waits forever for a sync that would never come.
  void request(std::shared_ptr<syncable> target);

  // Stops taking requests, runs every pending one (at once, without the interval), then joins.
  // Idempotent.
  void stop();

 private:
  using clock = std::chrono::steady_clock;

  void run();
  void hold_back(std::unique_lock<std::mutex>& lock);

  const syncer_options options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<syncable>> pending_;
  std::unordered_set<const syncable*> queued_;  // pending_, for coalescing
  bool idle_ = false;  // the thread waits for a request (not syncing, not holding back)
  bool stopping_ = false;
  // Unset until the first sync: the steady clock's epoch is the machine's boot, so a default
  // time point would hold the first sync back until min_interval after boot.
  std::optional<clock::time_point> last_start_;
  std::thread thread_;  // last: it starts in the constructor and uses the members above
};

}  // namespace shfn::storage
