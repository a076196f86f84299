// The registry's own file, a partitioned topic's partition count, under a failing disk: each
// write of its creation fails in turn (storage/faults.h). Afterwards the topic is partitioned
// with its count or not at all, never damaged, and a creation that failed can be made again.

#include "broker/registry.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/temp_dir.h"
#include "broker/context.h"
#include "storage/faults.h"
#include "storage/layout.h"

namespace shfn::broker {
namespace {

constexpr const char* topic = "persistent://public/default/orders";

struct registry_on_disk {
  explicit registry_on_disk(asio::io_context& io, const std::filesystem::path& dir)
      : ctx{.executor = io.get_executor(),
            .options = {.data_dir = dir},
            .syncer = storage::syncer(storage::syncer_options{})},
        topics(ctx) {
    ctx.tenants = tenancy::open(dir).value();
  }
  broker_context ctx;
  topic_registry topics;
};

TEST(topic_registry, a_failing_write_leaves_a_partitioned_topic_whole_or_absent) {
  asio::io_context io;
  std::uint64_t writes = 0;
  {
    temp_dir dir("shfn-registry");
    registry_on_disk r(io, dir.path());
    storage::faults::count();
    ASSERT_TRUE(r.topics.create_partitioned(topic, 4));
    writes = storage::faults::writes_seen();
    storage::faults::disarm();
  }
  ASSERT_GE(writes, 3u) << "the count is written, synced and renamed into place";
  for (const auto& [error, sticky] : {std::pair{EIO, false}, std::pair{ENOSPC, true}}) {
    for (std::uint64_t nth = 0; nth < writes; ++nth) {
      SCOPED_TRACE(fmt::format("write {} of {} fails with {}", nth, writes, std::strerror(error)));
      temp_dir dir("shfn-registry");
      registry_on_disk r(io, dir.path());
      storage::faults::arm(nth, error, sticky);
      const auto made = r.topics.create_partitioned(topic, 4);
      storage::faults::disarm();
      EXPECT_FALSE(made) << "the failure is reported";

      registry_on_disk reopened(io, dir.path());
      auto n = reopened.topics.partitions(topic);
      ASSERT_TRUE(n) << n.error().message();
      EXPECT_TRUE(*n == 0 || *n == 4) << *n;
      if (*n == 0) {
        EXPECT_TRUE(reopened.topics.create_partitioned(topic, 4)) << "made again";
      }
    }
  }
}

TEST(topic_registry, a_file_in_cursors_the_broker_did_not_write_is_skipped_not_fatal) {
  asio::io_context io;
  temp_dir dir("shfn-registry");
  const std::string name = "persistent://public/default/stray";
  {
    registry_on_disk r(io, dir.path());
    ASSERT_TRUE(r.topics.get(name));
  }
  auto parsed = wire::parse_topic_name(name);
  const auto cursors = storage::topic_dir(dir.path(), *parsed) / "cursors";
  std::filesystem::create_directories(cursors);
  std::ofstream(cursors / "%zz.cursor") << "left by someone else";
  registry_on_disk reopened(io, dir.path());
  auto t = reopened.topics.get(name);
  EXPECT_TRUE(t) << t.error().message();
}

}  // namespace
}  // namespace shfn::broker
