#include "storage/syncer.h"

namespace shfn::storage {

syncable::~syncable() = default;

syncer::syncer() : thread_([this] { run(); }) {}

syncer::~syncer() {
  stop();
}

void syncer::request(std::shared_ptr<syncable> target) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      if (queued_.insert(target.get()).second) pending_.push_back(std::move(target));
      wake_.notify_one();
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
    wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, and everything queued has run
    auto batch = std::move(pending_);
    pending_.clear();
    queued_.clear();
    lock.unlock();
    for (auto& target : batch) target->sync_now();
    batch.clear();  // release our shares off the lock: a destructor may call request()
    lock.lock();
  }
}

}  // namespace shfn::storage
