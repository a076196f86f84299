#include "storage/cursor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "storage/errc.h"
#include "storage/tests/temp_dir.h"

namespace shfn::storage {
namespace {

using testing::cut_bytes;
using testing::flip_byte;
using testing::temp_dir;
using ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

std::unique_ptr<cursor_file> open_cursor(const std::filesystem::path& file,
                                         std::map<std::string, std::string> properties = {}) {
  auto opened = cursor_file::open(file, std::move(properties));
  EXPECT_TRUE(opened) << opened.error().message();
  return opened ? std::move(*opened) : nullptr;
}

// Holds a syncer's thread until released, so that what is requested after it stays queued.
struct blocker : syncable {
  std::promise<void> started;
  std::shared_future<void> released;
  void sync_now() override {
    started.set_value();
    released.wait();
  }
};

// A syncer whose thread is busy (in a blocker) until `release` is set: work queued meanwhile
// waits behind it.
struct held_syncer {
  syncer s;
  std::promise<void> release;
  held_syncer() {
    auto hold = std::make_shared<blocker>();
    hold->released = release.get_future().share();
    s.request(hold);
    hold->started.get_future().wait();
  }
};

// Polls `condition` until it holds or 10 s have passed.
template <class F>
bool eventually(F condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

ranges acked(const cursor_file& c) {
  return ranges(c.state().acked.begin(), c.state().acked.end());
}

TEST(cursor, a_new_cursor_starts_at_zero_with_its_properties) {
  temp_dir dir;
  auto c = open_cursor(dir / "subs" / "s1", {{"type", "Shared"}});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state().mark_delete, 0u);
  EXPECT_TRUE(c->state().acked.empty());
  EXPECT_EQ(c->state().properties.at("type"), "Shared");
  EXPECT_TRUE(std::filesystem::exists(dir / "subs" / "s1"));
}

TEST(cursor, individual_acks_advance_mark_delete_once_contiguous) {
  temp_dir dir;
  auto c = open_cursor(dir / "c");
  ASSERT_TRUE(c->ack(1));
  ASSERT_TRUE(c->ack(2));
  ASSERT_TRUE(c->ack(5));
  EXPECT_EQ(c->state().mark_delete, 0u);
  EXPECT_EQ(acked(*c), (ranges{{1, 3}, {5, 6}}));
  ASSERT_TRUE(c->ack(0));
  EXPECT_EQ(c->state().mark_delete, 3u);
  EXPECT_EQ(acked(*c), (ranges{{5, 6}}));
  ASSERT_TRUE(c->ack(1));  // below mark_delete: nothing changes
  EXPECT_EQ(c->state().mark_delete, 3u);
}

TEST(cursor, ack_ranges_merge_and_advance) {
  temp_dir dir;
  auto c = open_cursor(dir / "c");
  ASSERT_TRUE(c->ack_ranges({{5, 10}, {12, 15}, {20, 20}}));
  EXPECT_EQ(acked(*c), (ranges{{5, 10}, {12, 15}}));
  ASSERT_TRUE(c->ack_ranges({{0, 5}}));
  EXPECT_EQ(c->state().mark_delete, 10u);
  EXPECT_EQ(acked(*c), (ranges{{12, 15}}));
  ASSERT_TRUE(c->ack_ranges({{8, 13}}));
  EXPECT_EQ(c->state().mark_delete, 15u);
  EXPECT_TRUE(c->state().acked.empty());
}

TEST(cursor, ack_cumulative_moves_mark_delete_and_absorbs_acks_beyond_it) {
  temp_dir dir;
  auto c = open_cursor(dir / "c");
  ASSERT_TRUE(c->ack_ranges({{5, 8}, {21, 25}, {30, 31}}));
  ASSERT_TRUE(c->ack_cumulative(20));
  EXPECT_EQ(c->state().mark_delete, 25u);
  EXPECT_EQ(acked(*c), (ranges{{30, 31}}));
  ASSERT_TRUE(c->ack_cumulative(3));  // behind: nothing changes
  EXPECT_EQ(c->state().mark_delete, 25u);
}

TEST(cursor, reset_forgets_acks_and_may_move_backwards) {
  temp_dir dir;
  auto c = open_cursor(dir / "c");
  ASSERT_TRUE(c->ack_cumulative(99));
  ASSERT_TRUE(c->ack(150));
  ASSERT_TRUE(c->reset(40));
  EXPECT_EQ(c->state().mark_delete, 40u);
  EXPECT_TRUE(c->state().acked.empty());
}

TEST(cursor, reopening_restores_the_state_exactly) {
  temp_dir dir;
  cursor_state before;
  {
    auto c = open_cursor(dir / "c", {{"type", "Failover"}, {"initial", "earliest"}});
    ASSERT_TRUE(c->ack_ranges({{3, 7}, {10, 11}}));
    ASSERT_TRUE(c->ack(0));
    ASSERT_TRUE(c->ack(1));
    ASSERT_TRUE(c->ack_cumulative(1));
    ASSERT_TRUE(c->ack(2));  // contiguous: mark_delete jumps to 7
    ASSERT_TRUE(c->ack(42));
    before = c->state();  // no sync(): write(2) alone survives the process
  }
  EXPECT_EQ(before.mark_delete, 7u);
  auto c = open_cursor(dir / "c", {{"type", "ignored for an existing cursor"}});
  EXPECT_EQ(c->state(), before);
  EXPECT_EQ(c->state().properties.at("type"), "Failover");
}

// Descriptors this process has open: /proc/self/fd lists them (and the one reading it).
std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

TEST(cursor, a_released_cursor_holds_no_descriptor_and_opens_again_to_change) {
  temp_dir dir;
  const std::size_t before_open = open_descriptors();
  auto c = open_cursor(dir / "c");
  ASSERT_TRUE(c->ack(0));
  EXPECT_EQ(c->open_files(), 1u);
  c->release();
  EXPECT_EQ(c->open_files(), 0u);
  EXPECT_EQ(open_descriptors(), before_open) << "the file's descriptor is closed";

  ASSERT_TRUE(c->ack(1));  // opens the file again
  EXPECT_EQ(c->open_files(), 1u);
  c->release();
  ASSERT_TRUE(c->sync()) << "a sync after release flushes through a descriptor of its own";
  ASSERT_TRUE(c->ack_ranges({{5, 9}}));
  const cursor_state written = c->state();
  c.reset();
  EXPECT_EQ(open_cursor(dir / "c")->state(), written);
  EXPECT_EQ(written.mark_delete, 2u);
}

TEST(cursor, a_release_while_a_compaction_is_queued_keeps_the_descriptor) {
  temp_dir dir;
  held_syncer held;
  auto opened = cursor_file::open(dir / "c", {}, &held.s);
  ASSERT_TRUE(opened) << opened.error().message();
  auto& c = *opened;
  for (std::uint64_t i = 0; i < 5000; ++i) ASSERT_TRUE(c->ack(2 * i));  // compaction queued
  c->release();
  EXPECT_EQ(c->open_files(), 1u) << "the compaction copies the journal from it";
  held.release.set_value();
  const cursor_state before = c->state();
  c.reset();
  EXPECT_EQ(open_cursor(dir / "c")->state(), before);
}

TEST(cursor, compaction_keeps_the_file_small_and_the_state_intact) {
  temp_dir dir;
  cursor_state before;
  {
    auto c = open_cursor(dir / "c");
    for (std::uint64_t i = 0; i < 20000; ++i) ASSERT_TRUE(c->ack_cumulative(i));
    // Every other offset: a snapshot that is large, then grows with each compaction.
    for (std::uint64_t i = 30000; i < 70000; i += 2) ASSERT_TRUE(c->ack(i));
    ASSERT_TRUE(c->sync());
    before = c->state();
  }
  EXPECT_EQ(before.mark_delete, 20000u);
  EXPECT_EQ(before.acked.range_count(), 20000u);
  // 40000 journal records would be > 400 KiB; compaction keeps the file near snapshot size
  // (16 bytes per range) plus a journal no larger than the snapshot.
  EXPECT_LT(std::filesystem::file_size(dir / "c"), 2 * 16 * 20000 + 1024);
  EXPECT_FALSE(std::filesystem::exists(dir / "c.tmp"));
  auto c = open_cursor(dir / "c");
  EXPECT_EQ(c->state(), before);
}

TEST(cursor, compaction_on_the_syncer_thread_keeps_the_state_intact) {
  temp_dir dir;
  syncer s;
  cursor_state before;
  {
    auto c = cursor_file::open(dir / "c", {}, &s);
    ASSERT_TRUE(c) << c.error().message();
    // Acks race the compactions the syncer runs meanwhile.
    for (std::uint64_t i = 0; i < 20000; ++i) ASSERT_TRUE((*c)->ack_cumulative(i));
    for (std::uint64_t i = 30000; i < 70000; i += 2) ASSERT_TRUE((*c)->ack(i));
    ASSERT_TRUE((*c)->sync());
    before = (*c)->state();
  }  // waits for a compaction in flight
  EXPECT_EQ(before.mark_delete, 20000u);
  EXPECT_EQ(before.acked.range_count(), 20000u);
  // Uncompacted, the 40000 records would be 680 KB.
  EXPECT_LT(std::filesystem::file_size(dir / "c"), 600'000u);
  EXPECT_FALSE(std::filesystem::exists(dir / "c.tmp"));
  EXPECT_EQ(open_cursor(dir / "c")->state(), before);
}

TEST(cursor, records_journalled_while_a_compaction_waits_end_up_in_the_new_file) {
  temp_dir dir;
  held_syncer held;
  syncer& s = held.s;

  auto opened = cursor_file::open(dir / "c", {}, &s);
  ASSERT_TRUE(opened) << opened.error().message();
  auto& c = *opened;
  // 17 bytes a record: the compaction is requested after about 3,900 of these and waits
  // behind the blocker while the rest are journalled.
  for (std::uint64_t i = 0; i < 6000; ++i) ASSERT_TRUE(c->ack(2 * i));
  const auto journal_only = std::filesystem::file_size(dir / "c");
  EXPECT_GT(journal_only, 6000u * 17);
  held.release.set_value();
  ASSERT_TRUE(eventually([&] { return std::filesystem::file_size(dir / "c") < journal_only; }))
      << "the compaction never ran";
  for (std::uint64_t i = 6000; i < 6100; ++i) ASSERT_TRUE(c->ack(2 * i));  // into the new file
  const cursor_state before = c->state();
  EXPECT_EQ(before.acked.range_count(), 6099u);  // offset 0 moved mark_delete to 1
  c.reset();
  EXPECT_FALSE(std::filesystem::exists(dir / "c.tmp"));
  EXPECT_EQ(open_cursor(dir / "c")->state(), before);
}

TEST(cursor, closing_waits_for_a_queued_compaction) {
  temp_dir dir;
  held_syncer held;
  syncer& s = held.s;

  auto opened = cursor_file::open(dir / "c", {}, &s);
  ASSERT_TRUE(opened) << opened.error().message();
  std::unique_ptr<cursor_file> c = std::move(*opened);
  for (std::uint64_t i = 0; i < 5000; ++i) ASSERT_TRUE(c->ack(2 * i));  // compaction queued
  const cursor_state before = c->state();
  auto closed = std::async(std::launch::async, [&c] { c.reset(); });
  held.release.set_value();
  closed.get();
  // The compaction ran (or was skipped) before the cursor went: nothing touches the file now.
  EXPECT_FALSE(std::filesystem::exists(dir / "c.tmp"));
  EXPECT_EQ(open_cursor(dir / "c")->state(), before);
}

TEST(cursor, a_torn_journal_tail_is_dropped) {
  temp_dir dir;
  {
    auto c = open_cursor(dir / "c");
    ASSERT_TRUE(c->ack(5));
    ASSERT_TRUE(c->ack(6));
    ASSERT_TRUE(c->ack(9));  // its record gets torn below
  }
  cut_bytes(dir / "c", 3);
  {
    auto c = open_cursor(dir / "c");
    ASSERT_TRUE(c);
    EXPECT_EQ(acked(*c), (ranges{{5, 7}}));
    ASSERT_TRUE(c->ack(7));  // appends where the torn record was
  }
  auto c = open_cursor(dir / "c");
  EXPECT_EQ(acked(*c), (ranges{{5, 8}}));
}

TEST(cursor, a_corrupt_journal_record_ends_the_replay) {
  temp_dir dir;
  {
    auto c = open_cursor(dir / "c");
    ASSERT_TRUE(c->ack(5));
    ASSERT_TRUE(c->ack(6));
    ASSERT_TRUE(c->ack(9));
  }
  const auto size = std::filesystem::file_size(dir / "c");
  flip_byte(dir / "c", size - 2 * 17 + 10);  // inside the ack(6) record (8 + 9 bytes each)
  auto c = open_cursor(dir / "c");
  EXPECT_EQ(acked(*c), (ranges{{5, 6}}));
}

TEST(cursor, a_damaged_snapshot_is_a_clear_error) {
  temp_dir dir;
  { open_cursor(dir / "c", {{"type", "Shared"}}); }
  flip_byte(dir / "c", 20);
  auto c = cursor_file::open(dir / "c");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), errc::bad_cursor_file);
}

TEST(cursor, remove_deletes_the_file) {
  temp_dir dir;
  { open_cursor(dir / "c"); }
  ASSERT_TRUE(cursor_file::remove(dir / "c"));
  EXPECT_FALSE(std::filesystem::exists(dir / "c"));
  EXPECT_TRUE(cursor_file::remove(dir / "c"));
  EXPECT_TRUE(cursor_file::remove(dir / "no" / "such" / "dir"));
}

// The syncer's pattern: acks on one thread, syncs on another, across compactions.
TEST(cursor, sync_runs_safely_beside_acks) {
  temp_dir dir;
  auto c = open_cursor(dir / "c");
  std::atomic<bool> done = false;
  std::thread syncer([&] {
    while (!done) ASSERT_TRUE(c->sync());
  });
  for (std::uint64_t i = 0; i < 10000; ++i) ASSERT_TRUE(c->ack_cumulative(i));
  done = true;
  syncer.join();
  ASSERT_TRUE(c->sync());
  const cursor_state before = c->state();
  c.reset();
  EXPECT_EQ(open_cursor(dir / "c")->state(), before);
}

}  // namespace
}  // namespace shfn::storage
