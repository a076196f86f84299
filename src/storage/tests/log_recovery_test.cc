// Recovery on open: what a crash, a torn write or bit rot leaves behind, and what open() makes
// of it. Offsets into files follow the format in storage/log.h: a 24-byte segment header, then
// records of 24 bytes plus their data.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "storage/errc.h"
#include "storage/log.h"
#include "storage/tests/temp_dir.h"

namespace shfn::storage {
namespace {

using testing::cut_bytes;
using testing::files_with_extension;
using testing::flip_byte;
using testing::overwrite;
using testing::temp_dir;

constexpr std::uint64_t header = 24;
constexpr std::uint64_t record_overhead = 24;
const std::string ten_bytes = "0123456789";  // every record here: 34 bytes on disk

std::filesystem::path segment_file(const std::filesystem::path& dir, std::uint64_t base) {
  return dir / fmt::format("{:020}.seg", base);
}

// Most tests shape the end of a segment file (a torn record is a file cut short), so their logs
// write no zeros ahead: a file ends with its last record, as with preallocate_bytes = 0 or a
// log written before preallocation. The tests of preallocation pass their own.
constexpr std::uint64_t no_preallocation = 0;

// Appends `count` ten-byte records; returns the log still open.
std::unique_ptr<log> make_log(const std::filesystem::path& dir, std::uint64_t count,
                              std::uint64_t segment_bytes = 1 << 20,
                              std::uint64_t preallocate = no_preallocation) {
  auto l = log::open(dir, {.segment_bytes = segment_bytes, .preallocate_bytes = preallocate});
  EXPECT_TRUE(l);
  for (std::uint64_t i = 0; i < count; ++i) EXPECT_EQ((*l)->append(as_bytes(ten_bytes), i), i);
  return std::move(*l);
}

std::unique_ptr<log> reopen(const std::filesystem::path& dir, std::uint64_t segment_bytes = 1 << 20,
                            std::uint64_t preallocate = no_preallocation) {
  auto l = log::open(dir, {.segment_bytes = segment_bytes, .preallocate_bytes = preallocate});
  EXPECT_TRUE(l) << l.error().message();
  return l ? std::move(*l) : nullptr;
}

void expect_readable(const log& l, std::uint64_t first, std::uint64_t end) {
  auto got = l.read(0, SIZE_MAX, SIZE_MAX);
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_EQ(got->size(), end - first);
  for (std::uint64_t i = first; i < end; ++i) {
    EXPECT_EQ((*got)[i - first].offset, i);
    EXPECT_EQ(as_chars((*got)[i - first].data), ten_bytes);
  }
}

TEST(log_recovery, a_torn_tail_is_cut_off_and_appends_continue) {
  temp_dir dir;
  make_log(dir.path(), 10);
  cut_bytes(segment_file(dir.path(), 0), 5);  // the last record loses its end

  auto l = reopen(dir.path());
  ASSERT_TRUE(l);
  EXPECT_EQ(l->end_offset(), 9u);
  expect_readable(*l, 0, 9);
  EXPECT_EQ(std::filesystem::file_size(segment_file(dir.path(), 0)),
            header + 9 * (record_overhead + 10));
  EXPECT_EQ(l->append(as_bytes(ten_bytes), 9), 9u);
  l.reset();
  expect_readable(*reopen(dir.path()), 0, 10);
}

TEST(log_recovery, a_record_torn_inside_its_length_field_is_cut_off) {
  temp_dir dir;
  make_log(dir.path(), 3);
  cut_bytes(segment_file(dir.path(), 0), record_overhead + 10 - 3);  // 3 bytes of the last left
  auto l = reopen(dir.path());
  EXPECT_EQ(l->end_offset(), 2u);
  expect_readable(*l, 0, 2);
}

TEST(log_recovery, a_flipped_byte_in_the_last_record_is_detected_and_cut_off) {
  temp_dir dir;
  make_log(dir.path(), 10);
  flip_byte(segment_file(dir.path(), 0), header + 9 * 34 + record_overhead + 4);  // its data
  auto l = reopen(dir.path());
  EXPECT_EQ(l->end_offset(), 9u);
  expect_readable(*l, 0, 9);
}

TEST(log_recovery, damage_in_the_middle_of_the_active_segment_ends_the_log_there) {
  temp_dir dir;
  make_log(dir.path(), 10);
  flip_byte(segment_file(dir.path(), 0), header + 4 * 34 + 12);  // offset field of record 4
  auto l = reopen(dir.path());
  EXPECT_EQ(l->end_offset(), 4u);
  expect_readable(*l, 0, 4);
  EXPECT_EQ(l->append(as_bytes(ten_bytes), 4), 4u);
}

TEST(log_recovery, a_record_with_the_wrong_offset_is_corruption) {
  temp_dir dir;
  make_log(dir.path(), 2);
  // Replace record 1 by a record with a valid checksum that claims offset 7, taken from another
  // log: only the sequence check can catch it.
  temp_dir other;
  { auto l = make_log(other.path(), 8); }
  std::ifstream in(segment_file(other.path(), 0), std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), {});
  overwrite(segment_file(dir.path(), 0), header + 34, file.substr(header + 7 * 34, 34));
  auto l = reopen(dir.path());
  EXPECT_EQ(l->end_offset(), 1u);
  EXPECT_EQ(std::filesystem::file_size(segment_file(dir.path(), 0)), header + 34);
  EXPECT_EQ(l->append(as_bytes(ten_bytes), 1), 1u);
  l.reset();
  expect_readable(*reopen(dir.path()), 0, 2);
}

TEST(log_recovery, a_damaged_or_missing_index_is_rebuilt) {
  temp_dir dir;
  ASSERT_TRUE(make_log(dir.path(), 100, 256)->sync());
  const auto indexes = files_with_extension(dir.path(), ".idx");
  ASSERT_GE(indexes.size(), 3u);
  const auto intact = std::filesystem::file_size(indexes[1]);
  flip_byte(indexes[0], 30);
  std::filesystem::remove(indexes[1]);
  std::filesystem::resize_file(indexes[2], 7);

  auto l = reopen(dir.path(), 256);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->end_offset(), 100u);
  expect_readable(*l, 0, 100);
  EXPECT_EQ(l->sync(), 100u);  // rewrites the indexes once the segments are known durable
  EXPECT_TRUE(std::filesystem::exists(indexes[1]));
  EXPECT_EQ(std::filesystem::file_size(indexes[1]), intact);
  l.reset();
  expect_readable(*reopen(dir.path(), 256), 0, 100);
}

TEST(log_recovery, an_index_that_does_not_match_its_segment_is_not_trusted) {
  temp_dir dir;
  ASSERT_TRUE(make_log(dir.path(), 20, 256)->sync());
  // A sealed segment whose last record lost its end after its index was written: the index's
  // recorded size no longer matches, so the segment is rescanned, and the log cut at the damage.
  const auto segments = files_with_extension(dir.path(), ".seg");
  ASSERT_GE(segments.size(), 3u);
  cut_bytes(segments[0], 5);
  auto l = reopen(dir.path(), 256);
  ASSERT_TRUE(l);
  const std::uint64_t records_in_first = (256 - header) / 34;
  EXPECT_EQ(l->end_offset(), records_in_first - 1);
  expect_readable(*l, 0, records_in_first - 1);
  EXPECT_EQ(files_with_extension(dir.path(), ".seg").size(), 1u);  // later segments dropped
  EXPECT_EQ(l->append(as_bytes(ten_bytes), 0), records_in_first - 1);
}

TEST(log_recovery, damage_in_an_unindexed_sealed_segment_drops_everything_after_it) {
  temp_dir dir;
  make_log(dir.path(), 20, 256);  // never synced: no indexes
  flip_byte(segment_file(dir.path(), 0), header + 2 * 34 + 20);
  auto l = reopen(dir.path(), 256);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->end_offset(), 2u);
  expect_readable(*l, 0, 2);
  EXPECT_EQ(files_with_extension(dir.path(), ".seg").size(), 1u);
  EXPECT_EQ(l->append(as_bytes(ten_bytes), 0), 2u);
}

TEST(log_recovery, a_garbage_segment_header_is_a_clear_error) {
  temp_dir dir;
  make_log(dir.path(), 20, 256);
  overwrite(segment_file(dir.path(), 0), 0, "NOTASEGMENT");
  auto sealed = log::open(dir.path());
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error(), errc::bad_segment_header);

  temp_dir single;
  make_log(single.path(), 3);
  overwrite(segment_file(single.path(), 0), 8, std::string(4, '\xff'));  // version 0xffffffff
  auto active = log::open(single.path());
  ASSERT_FALSE(active);
  EXPECT_EQ(active.error(), errc::bad_segment_header);
  EXPECT_FALSE(active.error().message().empty());
}

TEST(log_recovery, a_segment_named_for_the_wrong_offset_is_rejected) {
  temp_dir dir;
  make_log(dir.path(), 3);
  std::filesystem::rename(segment_file(dir.path(), 0), segment_file(dir.path(), 5));
  auto l = log::open(dir.path());
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error(), errc::bad_segment_header);
}

TEST(log_recovery, a_crash_while_rolling_leaves_an_empty_segment_that_is_reinitialised) {
  temp_dir dir;
  make_log(dir.path(), 5);
  std::ofstream(segment_file(dir.path(), 5)).put('S');  // created, header not yet written
  auto l = reopen(dir.path());
  ASSERT_TRUE(l);
  EXPECT_EQ(l->end_offset(), 5u);
  EXPECT_EQ(l->append(as_bytes(ten_bytes), 5), 5u);
  l.reset();
  expect_readable(*reopen(dir.path()), 0, 6);
}

TEST(log_recovery, a_gap_from_an_unfinished_trim_drops_the_segments_before_it) {
  temp_dir dir;
  make_log(dir.path(), 30, 256);
  const auto segments = files_with_extension(dir.path(), ".seg");
  ASSERT_GE(segments.size(), 4u);
  std::filesystem::remove(segments[1]);  // segment 0 survives, as if its deletion was lost
  const std::uint64_t after_gap = std::stoull(segments[2].stem().string());
  auto l = reopen(dir.path(), 256);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->start_offset(), after_gap);
  EXPECT_EQ(l->end_offset(), 30u);
  expect_readable(*l, after_gap, 30);
  EXPECT_FALSE(std::filesystem::exists(segments[0]));
}

TEST(log_recovery, leftover_temp_files_and_orphan_indexes_are_cleaned_up) {
  temp_dir dir;
  make_log(dir.path(), 3);
  std::ofstream(dir / "00000000000000000000.idx.tmp") << "half an index";
  std::ofstream(dir / "00000000000000000099.idx") << "index of a deleted segment";
  auto l = reopen(dir.path());
  ASSERT_TRUE(l);
  EXPECT_FALSE(std::filesystem::exists(dir / "00000000000000000000.idx.tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir / "00000000000000000099.idx"));
  expect_readable(*l, 0, 3);
}

TEST(log_recovery, damage_found_by_a_read_is_an_error_not_garbage) {
  temp_dir dir;
  {
    auto l = make_log(dir.path(), 20, 256);
    ASSERT_TRUE(l->sync());  // indexed: sealed segments are trusted, not scanned, on open
  }
  flip_byte(segment_file(dir.path(), 0), header + 34 + 30);
  auto l = reopen(dir.path(), 256);
  ASSERT_TRUE(l);
  auto got = l->read(0, SIZE_MAX, SIZE_MAX);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), errc::corrupt_record);
}

// ------------------------------------------------------------------ space written ahead (zeros)

constexpr std::uint64_t ahead = 4096;

std::uint64_t records_end(std::uint64_t records) {
  return header + records * (record_overhead + 10);
}

TEST(log_preallocation, the_active_segment_is_extended_with_zeros_cut_off_on_reopen) {
  temp_dir dir;
  const auto file = segment_file(dir.path(), 0);
  {
    auto l = make_log(dir.path(), 10, 1 << 20, ahead);
    EXPECT_EQ(std::filesystem::file_size(file), header + ahead);  // one chunk past the header
    EXPECT_EQ(l->size_bytes(), records_end(10));                  // what the records take
    ASSERT_TRUE(l->sync());
  }
  auto l = reopen(dir.path(), 1 << 20, ahead);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->end_offset(), 10u);
  expect_readable(*l, 0, 10);
  EXPECT_EQ(std::filesystem::file_size(file), records_end(10));
  // Appends go on past the first chunk, extending the file a chunk at a time.
  for (std::uint64_t i = 10; i < 200; ++i) ASSERT_EQ(l->append(as_bytes(ten_bytes), i), i);
  EXPECT_EQ((std::filesystem::file_size(file) - records_end(10)) % ahead, 0u);
  l.reset();
  expect_readable(*reopen(dir.path(), 1 << 20, ahead), 0, 200);
}

// A topic with one small message must not cost a whole chunk of disk: the space written ahead
// starts small and grows with the file.
TEST(log_preallocation, what_is_written_ahead_grows_with_the_file) {
  temp_dir dir;
  const auto file = segment_file(dir.path(), 0);
  constexpr std::uint64_t chunk = 1 << 20;
  auto l = make_log(dir.path(), 1, 64 << 20, chunk);
  EXPECT_LE(std::filesystem::file_size(file), header + (64 << 10)) << "a small log stays small";
  const std::string big(100 << 10, 'x');
  std::uint64_t previous = std::filesystem::file_size(file);
  int extensions = 0;
  for (std::uint64_t i = 1; i < 60; ++i) {  // about 6 MiB
    ASSERT_EQ(l->append(as_bytes(big), i), i);
    const std::uint64_t now = std::filesystem::file_size(file);
    if (now != previous) ++extensions;
    EXPECT_LE(now - previous, chunk + big.size()) << "never more than a chunk ahead at once";
    previous = now;
  }
  EXPECT_LE(extensions, 12) << "a busy log still extends its file rarely";
  l.reset();
  auto again = reopen(dir.path(), 64 << 20, chunk);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->end_offset(), 60u);
}

// A broker that unloads idle topics closes many logs: each gives its space back when it closes.
TEST(log_preallocation, closing_a_log_cuts_off_what_was_written_ahead) {
  temp_dir dir;
  const auto file = segment_file(dir.path(), 0);
  auto l = make_log(dir.path(), 3, 1 << 20, 1 << 20);
  ASSERT_GT(std::filesystem::file_size(file), records_end(3));
  l.reset();
  EXPECT_EQ(std::filesystem::file_size(file), records_end(3));
  auto again = reopen(dir.path(), 1 << 20, 1 << 20);
  ASSERT_TRUE(again);
  expect_readable(*again, 0, 3);
  EXPECT_EQ(again->append(as_bytes(ten_bytes), 3), 3u);
}

TEST(log_preallocation, records_after_a_lost_page_are_dropped_and_never_come_back) {
  temp_dir dir;
  make_log(dir.path(), 10, 1 << 20, ahead);
  // A machine crash kept the pages of records 4..9 but not record 3's: zeros there.
  overwrite(segment_file(dir.path(), 0), records_end(3), std::string(34, '\0'));
  auto l = reopen(dir.path(), 1 << 20, ahead);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->end_offset(), 3u);
  expect_readable(*l, 0, 3);
  // A new record 3 of the same size: old record 4 would follow it, with the next offset and a
  // valid checksum, had recovery not cut it off.
  ASSERT_EQ(l->append(as_bytes(ten_bytes), 3), 3u);
  l.reset();
  l = reopen(dir.path(), 1 << 20, ahead);
  EXPECT_EQ(l->end_offset(), 4u);
  expect_readable(*l, 0, 4);
}

TEST(log_preallocation, a_record_torn_inside_the_zeros_is_cut_off) {
  temp_dir dir;
  make_log(dir.path(), 10, 1 << 20, ahead);
  // The last record's last bytes never reached the disk: zeros inside it, a failing checksum.
  overwrite(segment_file(dir.path(), 0), records_end(10) - 5, std::string(5, '\0'));
  auto l = reopen(dir.path(), 1 << 20, ahead);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->end_offset(), 9u);
  expect_readable(*l, 0, 9);
  EXPECT_EQ(std::filesystem::file_size(segment_file(dir.path(), 0)), records_end(9));
}

TEST(log_preallocation, a_sealed_segment_keeps_its_records_when_the_seal_was_not_durable) {
  temp_dir dir;
  make_log(dir.path(), 20, 256, ahead);  // never synced: no indexes, every segment scanned
  const auto segments = files_with_extension(dir.path(), ".seg");
  ASSERT_GE(segments.size(), 3u);
  const auto sealed_size = std::filesystem::file_size(segments[0]);
  // The truncation that sealed segment 0 was lost: its zeros are back.
  std::filesystem::resize_file(segments[0], 256);
  auto l = reopen(dir.path(), 256, ahead);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->end_offset(), 20u);
  expect_readable(*l, 0, 20);
  EXPECT_EQ(files_with_extension(dir.path(), ".seg").size(), segments.size());
  EXPECT_EQ(std::filesystem::file_size(segments[0]), sealed_size);
}

TEST(log_preallocation, zeros_that_stop_a_sealed_segment_short_are_damage) {
  temp_dir dir;
  make_log(dir.path(), 20, 256, ahead);
  // Record 2 of sealed segment 0 was lost: the segment no longer reaches segment 1's base.
  overwrite(segment_file(dir.path(), 0), records_end(2), std::string(34, '\0'));
  auto l = reopen(dir.path(), 256, ahead);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->end_offset(), 2u);
  expect_readable(*l, 0, 2);
  EXPECT_EQ(files_with_extension(dir.path(), ".seg").size(), 1u);
}

}  // namespace
}  // namespace shfn::storage
