// The shard set's threads: each shard's work runs on its own thread, call() brings values back,
// and stop() joins threads that still had work queued.
#include "flow/shards.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace shfn::flow {
namespace {

std::unique_ptr<client::client> idle_client(asio::io_context& io) {
  // Never connects: nothing here asks it for a producer or a consumer.
  client::client_options o;
  o.service_url = "pulsar://127.0.0.1:1";
  auto c = client::client::create(io.get_executor(), o);
  EXPECT_TRUE(c);
  return std::move(*c);
}

TEST(shard_set, each_shard_runs_on_a_thread_of_its_own_and_call_brings_its_value_back) {
  asio::io_context io(1);
  auto first = idle_client(io);
  auto shards = shard_set::start(*first, 3);
  ASSERT_TRUE(shards);
  shard_set& set = **shards;
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(&set.client(0), first.get());
  std::set<std::thread::id> threads;
  for (std::size_t i = 0; i < set.size(); ++i) {
    threads.insert(set.call(i, [] { return std::this_thread::get_id(); }));
    // Each shard's client is bound to that shard's executor.
    EXPECT_TRUE(set.client(i).executor() == set.executor(i)) << i;
  }
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_TRUE(threads.contains(std::this_thread::get_id())) << "shard 0 is the caller's";
}

TEST(shard_set, stop_runs_what_was_posted_then_joins) {
  asio::io_context io(1);
  auto first = idle_client(io);
  auto shards = shard_set::start(*first, 2);
  ASSERT_TRUE(shards);
  int ran = 0;  // written on shard 1's thread, read after the join
  for (int i = 0; i < 100; ++i) asio::post((*shards)->executor(1), [&ran] { ++ran; });
  (*shards)->stop();
  EXPECT_EQ(ran, 100);
  (*shards)->stop();  // again: nothing left to join
}

}  // namespace
}  // namespace shfn::flow
