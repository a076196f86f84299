#include "storage/syncer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace shfn::storage {
namespace {

struct counting : syncable {
  std::atomic<int> calls = 0;
  std::thread::id last_thread;
  void sync_now() override {
    last_thread = std::this_thread::get_id();
    ++calls;
  }
};

// Its first sync_now() reports that it started, then blocks until released: a slow fdatasync.
struct blocking_first : counting {
  std::promise<void> started;
  std::shared_future<void> released;
  void sync_now() override {
    if (calls == 0) {
      started.set_value();
      released.wait();
    }
    counting::sync_now();
  }
};

TEST(syncer, requests_during_a_sync_coalesce_into_one_more) {
  std::promise<void> release;
  auto slow = std::make_shared<blocking_first>();
  auto other = std::make_shared<counting>();
  slow->released = release.get_future().share();
  auto started = slow->started.get_future();

  syncer s;
  s.request(slow);
  started.wait();  // the first sync is in progress
  for (int i = 0; i < 100; ++i) {
    s.request(slow);
    s.request(other);
  }
  release.set_value();
  s.stop();
  EXPECT_EQ(slow->calls, 2);  // the first, then ONE for the 100 requests made during it
  EXPECT_EQ(other->calls, 1);
}

TEST(syncer, stop_runs_every_pending_request) {
  std::promise<void> release;
  auto slow = std::make_shared<blocking_first>();
  slow->released = release.get_future().share();
  auto started = slow->started.get_future();
  std::vector<std::shared_ptr<counting>> pending(10);
  for (auto& p : pending) p = std::make_shared<counting>();

  syncer s;
  s.request(slow);
  started.wait();
  for (auto& p : pending) s.request(p);  // all still queued behind the slow one
  std::thread stopper([&] { s.stop(); });
  release.set_value();
  stopper.join();
  for (auto& p : pending) EXPECT_EQ(p->calls, 1);
}

TEST(syncer, a_request_after_stop_runs_on_the_caller) {
  auto target = std::make_shared<counting>();
  syncer s;
  s.stop();
  s.request(target);
  EXPECT_EQ(target->calls, 1);
  EXPECT_EQ(target->last_thread, std::this_thread::get_id());
}

}  // namespace
}  // namespace shfn::storage
