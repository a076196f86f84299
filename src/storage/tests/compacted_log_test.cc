// A topic's compacted view: generations written beside the one in use and switched to through
// COMPACTED, reads by topic offset across the gaps compaction left, and what a crash or a
// damaged file leaves.

#include "storage/compacted_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "storage/errc.h"
#include "storage/layout.h"
#include "storage/tests/temp_dir.h"

namespace shfn::storage {
namespace {

using testing::temp_dir;
namespace fs = std::filesystem;

bytes text(const std::string& s) {
  return bytes(s.begin(), s.end());
}

std::string text_of(const entry& e) {
  return std::string(e.data.begin(), e.data.end());
}

// A view of offsets 2, 5 and 9 (of a topic whose log reached 12); null when it cannot be written.
std::shared_ptr<const compacted_log> write_view(const fs::path& dir, std::uint64_t generation) {
  auto writer = compacted_log::writer::begin(dir, generation);
  if (!writer) return nullptr;
  for (std::uint64_t offset : {2, 5, 9}) {
    if (!writer->append(offset, 1000 + offset, text("v" + std::to_string(offset)))) return nullptr;
  }
  auto view = writer->commit(12);
  return view ? *view : nullptr;
}

TEST(compacted_log, a_topic_never_compacted_has_no_view) {
  temp_dir dir;
  auto view = compacted_log::open(dir.path());
  ASSERT_TRUE(view) << view.error().message();
  EXPECT_EQ(*view, nullptr);
}

TEST(compacted_log, reads_from_a_topic_offset_skip_to_the_next_entry_kept) {
  temp_dir dir;
  auto view = write_view(dir.path(), 0);
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view->horizon(), 12u);
  EXPECT_EQ(view->entries(), 3u);
  for (const auto& [from, first] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {0, 2}, {2, 2}, {3, 5}, {6, 9}, {9, 9}}) {
    auto read = view->read(from, 10, 1 << 20);
    ASSERT_TRUE(read);
    ASSERT_FALSE(read->empty()) << from;
    EXPECT_EQ(read->front().offset, first) << from;
    EXPECT_EQ(text_of(read->front()), "v" + std::to_string(first));
    EXPECT_EQ(read->front().publish_time, 1000 + first);
  }
  auto past = view->read(10, 10, 1 << 20);
  ASSERT_TRUE(past);
  EXPECT_TRUE(past->empty());
}

TEST(compacted_log, a_committed_view_is_what_the_topic_opens_again) {
  temp_dir dir;
  ASSERT_NE(write_view(dir.path(), 0), nullptr);
  auto reopened = compacted_log::open(dir.path());
  ASSERT_TRUE(reopened) << reopened.error().message();
  ASSERT_NE(*reopened, nullptr);
  EXPECT_EQ((*reopened)->horizon(), 12u);
  auto read = (*reopened)->read(3, 10, 1 << 20);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ(text_of((*read)[1]), "v9");
}

TEST(compacted_log, a_generation_never_committed_is_deleted_and_the_old_one_kept) {
  temp_dir dir;
  ASSERT_NE(write_view(dir.path(), 0), nullptr);
  {
    // A compaction that stopped before its switch.
    auto writer = compacted_log::writer::begin(dir.path(), 1);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->append(7, 1, text("lost")));
  }
  ASSERT_TRUE(fs::exists(compacted_dir(dir.path(), 1)));
  auto reopened = compacted_log::open(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ((*reopened)->generation(), 0u);
  EXPECT_FALSE(fs::exists(compacted_dir(dir.path(), 1)));
}

TEST(compacted_log, the_switch_keeps_only_the_new_generation) {
  temp_dir dir;
  ASSERT_NE(write_view(dir.path(), 0), nullptr);
  auto next = write_view(dir.path(), 1);
  ASSERT_NE(next, nullptr);
  ASSERT_TRUE(compacted_log::remove_other_generations(dir.path(), next->generation()));
  EXPECT_FALSE(fs::exists(compacted_dir(dir.path(), 0)));
  auto reopened = compacted_log::open(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ((*reopened)->generation(), 1u);
}

TEST(compacted_log, a_damaged_pointer_is_an_error_not_an_empty_view) {
  temp_dir dir;
  ASSERT_NE(write_view(dir.path(), 0), nullptr);
  std::ofstream(compacted_file(dir.path()), std::ios::trunc) << "zero twelve\n";
  auto garbled = compacted_log::open(dir.path());
  ASSERT_FALSE(garbled);
  EXPECT_EQ(garbled.error(), errc::bad_compacted_file);

  std::ofstream(compacted_file(dir.path()), std::ios::trunc) << "4 12\n";  // no such generation
  auto missing = compacted_log::open(dir.path());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), errc::bad_compacted_file);
  EXPECT_TRUE(fs::exists(compacted_dir(dir.path(), 0)));  // nothing deleted on a bad pointer
}

}  // namespace
}  // namespace shfn::storage
