#include "storage/log.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "storage/errc.h"
#include "storage/tests/temp_dir.h"

namespace shfn::storage {
namespace {

using testing::files_with_extension;
using testing::temp_dir;

// Sizes vary so that records straddle read chunks and index intervals.
std::string payload(std::uint64_t i) {
  return "message-" + std::to_string(i) + std::string(i % 37, 'x');
}

std::unique_ptr<log> open_log(const std::filesystem::path& dir, std::uint64_t segment_bytes) {
  auto opened = log::open(dir, {.segment_bytes = segment_bytes});
  EXPECT_TRUE(opened.has_value()) << opened.error().message();
  return opened ? std::move(*opened) : nullptr;
}

void append_range(log& l, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t i = first; i < first + count; ++i) {
    auto offset = l.append(as_bytes(payload(i)), 1000 + i);
    ASSERT_TRUE(offset.has_value()) << offset.error().message();
    ASSERT_EQ(*offset, i);
  }
}

std::vector<entry> read_all(const log& l, std::uint64_t from = 0) {
  auto got = l.read(from, SIZE_MAX, SIZE_MAX);
  EXPECT_TRUE(got.has_value()) << got.error().message();
  return got ? std::move(*got) : std::vector<entry>{};
}

void expect_entries(const std::vector<entry>& entries, std::uint64_t first, std::uint64_t end) {
  ASSERT_EQ(entries.size(), end - first);
  for (std::uint64_t i = first; i < end; ++i) {
    const entry& e = entries[i - first];
    ASSERT_EQ(e.offset, i);
    ASSERT_EQ(e.publish_time, 1000 + i);
    ASSERT_EQ(as_chars(e.data), payload(i));
  }
}

TEST(log, a_new_log_is_empty) {
  temp_dir dir;
  auto l = open_log(dir / "topic", 1024);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->start_offset(), 0u);
  EXPECT_EQ(l->end_offset(), 0u);
  EXPECT_TRUE(read_all(*l).empty());
  EXPECT_EQ(l->find_by_time(0), 0u);
  EXPECT_EQ(files_with_extension(dir / "topic", ".seg").size(), 1u);
}

TEST(log, round_trips_across_segment_rolls_with_dense_offsets) {
  temp_dir dir;
  auto l = open_log(dir.path(), 512);
  append_range(*l, 0, 300);
  EXPECT_EQ(l->end_offset(), 300u);
  EXPECT_GT(files_with_extension(dir.path(), ".seg").size(), 10u);
  expect_entries(read_all(*l), 0, 300);
  expect_entries(read_all(*l, 123), 123, 300);
  EXPECT_TRUE(read_all(*l, 300).empty());
}

TEST(log, reopening_keeps_everything_and_appends_continue) {
  temp_dir dir;
  {
    auto l = open_log(dir.path(), 512);
    append_range(*l, 0, 100);
  }
  {
    auto l = open_log(dir.path(), 512);
    EXPECT_EQ(l->end_offset(), 100u);
    expect_entries(read_all(*l), 0, 100);
    append_range(*l, 100, 50);
    EXPECT_EQ(l->sync(), 150u);
  }
  auto l = open_log(dir.path(), 512);
  expect_entries(read_all(*l), 0, 150);
}

TEST(log, sync_indexes_sealed_segments_and_reopen_uses_them) {
  temp_dir dir;
  {
    auto l = open_log(dir.path(), 512);
    append_range(*l, 0, 200);
    EXPECT_TRUE(files_with_extension(dir.path(), ".idx").empty());  // not durable yet
    ASSERT_EQ(l->sync(), 200u);
  }
  const auto segments = files_with_extension(dir.path(), ".seg");
  EXPECT_EQ(files_with_extension(dir.path(), ".idx").size(), segments.size() - 1);
  auto l = open_log(dir.path(), 512);
  EXPECT_EQ(l->end_offset(), 200u);
  expect_entries(read_all(*l), 0, 200);
  expect_entries(read_all(*l, 177), 177, 200);
}

TEST(log, read_respects_max_entries_and_max_bytes) {
  temp_dir dir;
  auto l = open_log(dir.path(), 1024);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(l->append(as_bytes(std::string(100, 'a')), 1));

  auto five = l->read(3, 5, SIZE_MAX);
  ASSERT_TRUE(five);
  ASSERT_EQ(five->size(), 5u);
  EXPECT_EQ(five->front().offset, 3u);
  EXPECT_EQ(five->back().offset, 7u);

  auto by_bytes = l->read(0, SIZE_MAX, 350);
  ASSERT_TRUE(by_bytes);
  EXPECT_EQ(by_bytes->size(), 3u);  // 300 bytes of data; a fourth would pass 350

  auto at_least_one = l->read(10, SIZE_MAX, 1);
  ASSERT_TRUE(at_least_one);
  ASSERT_EQ(at_least_one->size(), 1u);
  EXPECT_EQ(at_least_one->front().data.size(), 100u);

  auto none = l->read(0, 0, SIZE_MAX);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(log, find_by_time_returns_the_first_offset_at_or_after) {
  temp_dir dir;
  auto l = open_log(dir.path(), 512);
  for (std::uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(l->append(as_bytes(payload(i)), 10 * i));
  EXPECT_EQ(l->find_by_time(0), 0u);
  EXPECT_EQ(l->find_by_time(500), 50u);
  EXPECT_EQ(l->find_by_time(501), 51u);
  EXPECT_EQ(l->find_by_time(990), 99u);
  EXPECT_EQ(l->find_by_time(991), 100u);  // none: end_offset()
}

TEST(log, find_by_time_copes_with_times_that_go_backwards) {
  temp_dir dir;
  auto l = open_log(dir.path(), 1 << 20);
  for (std::uint64_t t : {50, 10, 70, 20, 90}) ASSERT_TRUE(l->append(as_bytes("x"), t));
  EXPECT_EQ(l->find_by_time(60), 2u);
  EXPECT_EQ(l->find_by_time(15), 0u);
  EXPECT_EQ(l->find_by_time(80), 4u);
}

// A size bound deletes consumed segments, however young, while the log holds more than it; never
// one that is not wholly consumed.
TEST(log, trim_keeps_a_size_bound_over_consumed_segments) {
  temp_dir dir;
  auto l = open_log(dir.path(), 512);
  append_range(*l, 0, 200);
  const std::uint64_t size_before = l->size_bytes();
  const std::uint64_t segments = files_with_extension(dir.path(), ".seg").size();
  ASSERT_GT(segments, 6u);

  EXPECT_EQ(l->trim(100, 0, size_before), 0u) << "within the bound: young data stays";
  const std::uint64_t bound = size_before * 3 / 4;  // reached before the consumed part is gone
  auto freed = l->trim(100, 0, bound);
  ASSERT_TRUE(freed);
  EXPECT_GT(*freed, 0u);
  EXPECT_LE(l->size_bytes(), bound) << "down to the bound";
  EXPECT_GT(l->size_bytes() + 1024, bound) << "and no further than a segment below it";
  const std::uint64_t start = l->start_offset();
  EXPECT_LE(start, 100u) << "only what was consumed";

  ASSERT_TRUE(l->trim(100, 0, 0));
  EXPECT_LE(l->start_offset(), 100u) << "a bound of 0 still keeps unconsumed data";
  EXPECT_GE(l->start_offset(), start);
  expect_entries(read_all(*l), l->start_offset(), 200);
}

TEST(log, trim_deletes_only_wholly_consumed_sealed_segments) {
  temp_dir dir;
  auto l = open_log(dir.path(), 512);
  append_range(*l, 0, 200);
  const auto before = files_with_extension(dir.path(), ".seg");
  const std::uint64_t size_before = l->size_bytes();

  auto freed = l->trim(100, UINT64_MAX);
  ASSERT_TRUE(freed);
  EXPECT_GT(*freed, 0u);
  EXPECT_EQ(l->size_bytes(), size_before - *freed);
  const std::uint64_t start = l->start_offset();
  EXPECT_GT(start, 0u);
  EXPECT_LE(start, 100u);  // the segment holding offset 99 stays
  EXPECT_EQ(files_with_extension(dir.path(), ".seg").front().stem().string(),
            fmt::format("{:020}", start));
  expect_entries(read_all(*l), start, 200);  // a read from 0 starts at start_offset()

  // Not old enough: the oldest remaining segment has publish times >= 1000 + start.
  EXPECT_EQ(l->trim(200, 1000 + start - 1), 0u);
  EXPECT_EQ(l->start_offset(), start);

  // Everything consumed: all but the active segment go.
  ASSERT_TRUE(l->trim(UINT64_MAX, UINT64_MAX));
  EXPECT_EQ(files_with_extension(dir.path(), ".seg").size(), 1u);
  const std::uint64_t active_base = l->start_offset();
  EXPECT_LT(active_base, 200u);
  expect_entries(read_all(*l), active_base, 200);

  l.reset();
  l = open_log(dir.path(), 512);
  EXPECT_EQ(l->start_offset(), active_base);
  EXPECT_EQ(l->end_offset(), 200u);
  append_range(*l, 200, 10);
}

TEST(log, an_entry_larger_than_a_segment_gets_one_of_its_own) {
  temp_dir dir;
  auto l = open_log(dir.path(), 256);
  ASSERT_EQ(l->append(as_bytes("small"), 1), 0u);
  ASSERT_EQ(l->append(as_bytes(std::string(1000, 'b')), 2), 1u);
  ASSERT_EQ(l->append(as_bytes("small"), 3), 2u);
  EXPECT_EQ(files_with_extension(dir.path(), ".seg").size(), 3u);
  auto got = read_all(*l);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].data.size(), 1000u);
}

TEST(log, remove_deletes_the_log_but_refuses_foreign_directories) {
  temp_dir dir;
  {
    auto l = open_log(dir / "log", 512);
    append_range(*l, 0, 50);
  }
  ASSERT_TRUE(log::remove(dir / "log"));
  EXPECT_FALSE(std::filesystem::exists(dir / "log"));
  EXPECT_TRUE(log::remove(dir / "log"));  // already gone

  std::filesystem::create_directories(dir / "other");
  std::ofstream(dir / "other" / "notes.txt") << "keep me";
  auto refused = log::remove(dir / "other");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::not_a_log_directory);
  EXPECT_TRUE(std::filesystem::exists(dir / "other" / "notes.txt"));
}

// Appends on one thread while another syncs: the syncer's pattern (worth running under TSan).
TEST(log, sync_runs_safely_beside_appends_and_reports_a_durable_end) {
  temp_dir dir;
  auto l = open_log(dir.path(), 4096);
  std::atomic<bool> done = false;
  std::uint64_t last_durable = 0;
  std::thread syncer([&] {
    while (!done) {
      auto durable = l->sync();
      ASSERT_TRUE(durable);
      ASSERT_GE(*durable, last_durable);
      last_durable = *durable;
    }
  });
  append_range(*l, 0, 2000);
  done = true;
  syncer.join();
  EXPECT_EQ(l->sync(), 2000u);
  expect_entries(read_all(*l), 0, 2000);
}

// Descriptors this process holds on files under `dir`.
std::size_t files_open_under(const std::filesystem::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target.string().starts_with(dir.string())) ++n;
  }
  return n;
}

// A log with much data (here 40-odd segments) holds few descriptors: sealed segments are opened
// when read and closed again, least recently read first.
TEST(log, a_log_of_many_segments_keeps_few_files_open_and_reads_every_one) {
  temp_dir dir;
  const log_options options{.segment_bytes = 256, .preallocate_bytes = 0, .max_open_sealed = 2};
  auto opened = log::open(dir.path(), options);
  ASSERT_TRUE(opened);
  auto& l = **opened;
  append_range(l, 0, 200);
  ASSERT_TRUE(l.sync());
  EXPECT_GT(files_with_extension(dir.path(), ".seg").size(), 20u);
  EXPECT_LE(l.open_files(), 3u) << "the active segment and two sealed ones";
  EXPECT_LE(files_open_under(dir.path()), 3u);

  const auto all = read_all(l);  // every sealed segment opened again on the way
  ASSERT_EQ(all.size(), 200u);
  for (std::uint64_t i = 0; i < 200; ++i) EXPECT_EQ(as_chars(all[i].data), payload(i));
  EXPECT_LE(files_open_under(dir.path()), 3u) << "and closed again";
  auto early = l.find_by_time(1005);
  ASSERT_TRUE(early);
  EXPECT_EQ(*early, 5u);
  ASSERT_TRUE(l.trim(100, UINT64_MAX));
  EXPECT_EQ(read_all(l, 100).size(), 100u);
  opened->reset();

  auto again = log::open(dir.path(), options);
  ASSERT_TRUE(again);
  EXPECT_LE(files_open_under(dir.path()), 3u) << "and after recovery";
  EXPECT_EQ(read_all(**again, 100).size(), 100u);
}

}  // namespace
}  // namespace shfn::storage
