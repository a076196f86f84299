#pragma once
// Group commit: one background thread that runs fdatasyncs off the broker's I/O thread.
//
// The broker appends on its I/O thread and calls request(x) after each batch of appends. While
// a sync is running, further requests pile up; the thread then takes every pending request at
// once, each object only once however often it was requested, so N appends arriving during one
// fdatasync cost one more fdatasync, not N.
//
// Ownership: the syncer owns its thread and shares ownership of the queued objects until their
// sync_now() has returned. request() is safe from any thread; sync_now() runs on the syncer's
// thread and must not throw (the broker posts its result back to its own executor there).

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace shfn::storage {

struct syncable {
  virtual ~syncable();
  virtual void sync_now() = 0;
};

class syncer {
 public:
  syncer();
  syncer(const syncer&) = delete;
  syncer& operator=(const syncer&) = delete;
  ~syncer();

  // Queues `target` for a sync_now() that starts after this call; a no-op when it is already
  // queued and not yet started. After stop(), runs sync_now() on the calling thread instead,
  // so that nobody waits forever for a sync that would never come.
  void request(std::shared_ptr<syncable> target);

  // Stops taking requests, runs every pending one, then joins. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<syncable>> pending_;
  std::unordered_set<const syncable*> queued_;  // pending_, for coalescing
  bool stopping_ = false;
  std::thread thread_;  // last: it starts in the constructor and uses the members above
};

}  // namespace shfn::storage
