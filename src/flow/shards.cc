#include "flow/shards.h"

namespace shfn::flow {

result<std::unique_ptr<shard_set>> shard_set::start(client::client& first, int count) {
  std::unique_ptr<shard_set> set(new shard_set(first));
  for (int i = 1; i < count; ++i) {
    auto l = std::make_unique<loop>();
    auto c = client::client::create(l->io.get_executor(), first.options());
    if (!c) return fail(c.error());
    l->client = std::move(*c);
    set->extra_.push_back(std::move(l));
  }
  // Threads only once every client exists: a failure above leaves none to join.
  for (auto& l : set->extra_) {
    l->thread = std::thread([io = &l->io] { io->run(); });
  }
  return set;
}

shard_set::~shard_set() {
  stop();
}

void shard_set::stop() {
  for (auto& l : extra_) {
    if (!l->thread.joinable()) continue;
    asio::post(l->io, [c = l->client.get()] { c->close(); });
    l->busy.reset();
  }
  for (auto& l : extra_) {
    if (l->thread.joinable()) l->thread.join();
  }
}

client::client& shard_set::client(std::size_t shard) {
  return shard == 0 ? first_ : *extra_[shard - 1]->client;
}

asio::any_io_executor shard_set::executor(std::size_t shard) {
  return shard == 0 ? first_.executor()
                    : asio::any_io_executor(extra_[shard - 1]->io.get_executor());
}

}  // namespace shfn::flow
