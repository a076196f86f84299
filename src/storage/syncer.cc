#include "storage/syncer.h"

namespace shfn::storage {

syncable::~syncable() = default;

syncer::syncer(syncer_options options) : options_(options), thread_([this] { run(); }) {}

syncer::~syncer() {
  stop();
}

void syncer::request(std::shared_ptr<syncable> target) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      if (queued_.insert(target.get()).second) pending_.push_back(std::move(target));
      // Only an idle thread needs waking: a busy one looks at pending_ when it is done, and one
      // holding back must not start early (every request would cut the group short).
      if (idle_) wake_.notify_one();
      return;
    }
  }
  target->sync_now();
}

void syncer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void syncer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    idle_ = true;
    wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    idle_ = false;
    if (pending_.empty()) return;  // stopping, and everything queued has run
    hold_back(lock);
    last_start_ = clock::now();
    auto batch = std::move(pending_);
    pending_.clear();
    queued_.clear();
    lock.unlock();
    for (auto& target : batch) target->sync_now();
    batch.clear();  // release our shares off the lock: a destructor may call request()
    lock.lock();
  }
}

// Waits until min_interval has passed since the last sync started (or until stop()), letting
// requests gather for one sync.
void syncer::hold_back(std::unique_lock<std::mutex>& lock) {
  if (options_.min_interval.count() <= 0 || !last_start_) return;
  const clock::time_point start_at = *last_start_ + options_.min_interval;
  wake_.wait_until(lock, start_at, [this] { return stopping_; });
}

}  // namespace shfn::storage
