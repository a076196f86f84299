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

// Counts, and fulfils a promise at its first sync.
struct announcing : counting {
  std::promise<void> synced;
  void sync_now() override {
    counting::sync_now();
    if (calls == 1) synced.set_value();
  }
};

// Group commit with an interval: the first request after a quiet spell is synced at once; those
// that follow within the interval wait for it and then share one sync. (The interval here is an
// hour, so they wait until stop(), which runs them at once.)
TEST(syncer, requests_within_the_interval_wait_and_share_one_sync) {
  auto first = std::make_shared<announcing>();
  auto later = std::make_shared<announcing>();
  auto first_synced = first->synced.get_future();
  auto later_synced = later->synced.get_future();

  syncer s({.min_interval = std::chrono::hours(1)});
  s.request(first);
  first_synced.wait();  // not held back: nothing was synced before it
  for (int i = 0; i < 10; ++i) {
    s.request(later);
    s.request(first);
  }
  // The syncer is idle, so without the interval these would be synced within microseconds.
  EXPECT_EQ(later_synced.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  EXPECT_EQ(first->calls, 1);
  s.stop();  // runs what is pending, at once
  EXPECT_EQ(first->calls, 2);
  EXPECT_EQ(later->calls, 1);
}

TEST(syncer, a_held_back_request_is_synced_once_the_interval_has_passed) {
  auto first = std::make_shared<announcing>();
  auto later = std::make_shared<announcing>();
  auto first_synced = first->synced.get_future();
  auto later_synced = later->synced.get_future();

  syncer s({.min_interval = std::chrono::milliseconds(50)});
  s.request(first);
  first_synced.wait();
  s.request(later);  // within the interval: held back, then synced without anyone asking again
  EXPECT_EQ(later_synced.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  s.stop();
  EXPECT_EQ(later->calls, 1);
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
