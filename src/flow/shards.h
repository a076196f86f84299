#pragma once
// The event loops a runtime spreads its instances over: shard 0 is the caller's (its executor
// and client); each further shard is an io_context on a thread of its own, with a client of its
// own made from the same options.
//
// Single owner: an instance, its client, producers, consumers and processes live on one shard
// and are touched only from its thread. Others reach them by posting: the runtime starts and
// stops instances with co_spawn and dispatch, and the admin endpoints read them with call(),
// which runs a function on the shard and waits for its value.
//
// Life: the threads run from construction until stop(), kept alive while idle. stop() closes
// their clients and lets each loop run out of work before joining it, so by then every
// instance on a shard must be done (the runtime's run() has returned); what the instances own
// (producers, consumers) may then be destroyed, before the shard set and its clients.

#include <asio/any_io_executor.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "base/result.h"
#include "client/client.h"

namespace shfn::flow {

class shard_set {
 public:
  // `count` shards in all (at least 1), the first being `first`'s executor and client.
  static result<std::unique_ptr<shard_set>> start(client::client& first, int count);
  shard_set(const shard_set&) = delete;
  shard_set& operator=(const shard_set&) = delete;
  ~shard_set();  // stop()s first
  void stop();

  std::size_t size() const { return 1 + extra_.size(); }
  client::client& client(std::size_t shard);
  asio::any_io_executor executor(std::size_t shard);

  // Runs `f` on `shard` and returns its value; from the caller's thread (shard 0's) only, which
  // runs it in place for shard 0 and blocks on the others until their thread has run it.
  template <class F>
  auto call(std::size_t shard, F f) -> decltype(f()) {
    if (shard == 0) return f();
    std::promise<decltype(f())> value;
    auto future = value.get_future();
    asio::post(executor(shard), [&value, &f] { value.set_value(f()); });
    return future.get();
  }

 private:
  struct loop {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> busy{io.get_executor()};
    std::unique_ptr<client::client> client;  // destroyed before `io`, as a client must be
    std::thread thread;
  };

  explicit shard_set(client::client& first) : first_(first) {}

  client::client& first_;
  std::vector<std::unique_ptr<loop>> extra_;  // shards 1..size()-1
};

}  // namespace shfn::flow
