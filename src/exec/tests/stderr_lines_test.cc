#include "exec/stderr_lines.h"

#include <gtest/gtest.h>

namespace shfn::exec {
namespace {

using lines = std::vector<std::string>;

struct collector {
  lines got;
  line_sink sink() {
    return [this](std::string_view l) { got.emplace_back(l); };
  }
};

TEST(stderr_lines, splits_at_newlines_across_chunks) {
  stderr_lines s(100, 100);
  collector c;
  const auto sink = c.sink();
  s.feed("one\ntw", sink);
  s.feed("o\n\nthr", sink);
  EXPECT_EQ(c.got, (lines{"one", "two", ""}));
  s.feed("ee", sink);
  s.finish(sink);
  EXPECT_EQ(c.got, (lines{"one", "two", "", "three"}));
  s.finish(sink);  // nothing more to deliver
  EXPECT_EQ(c.got.size(), 4u);
}

TEST(stderr_lines, long_lines_are_delivered_in_pieces) {
  stderr_lines s(4, 100);
  collector c;
  const auto sink = c.sink();
  s.feed("abcd\nabcdefghij\n", sink);
  EXPECT_EQ(c.got, (lines{"abcd", "abcd", "efgh", "ij"}));
}

TEST(stderr_lines, a_piece_does_not_end_inside_a_utf8_sequence) {
  stderr_lines s(4, 100);
  collector c;
  const auto sink = c.sink();
  s.feed("abc\xc3\xa9z\n", sink);  // "abcéz": the cut at 4 would split é
  EXPECT_EQ(c.got, (lines{"abc", "\xc3\xa9z"}));
}

TEST(stderr_lines, keeps_the_last_bytes_as_tail) {
  stderr_lines s(100, 8);
  const line_sink none;
  for (int i = 0; i < 100; ++i) s.feed("line " + std::to_string(i) + "\n", none);
  EXPECT_EQ(s.tail(), "line 99\n");
  stderr_lines short_one(100, 8);
  short_one.feed("ab", none);
  EXPECT_EQ(short_one.tail(), "ab");
  stderr_lines big_chunk(100, 4);
  big_chunk.feed(std::string(1000, 'x') + "1234", none);
  EXPECT_EQ(big_chunk.tail(), "1234");
}

TEST(stderr_lines, the_tail_starts_at_a_utf8_boundary) {
  stderr_lines s(100, 3);
  s.feed("\xc3\xa9\xc3\xa9", line_sink{});  // "éé": the last 3 bytes start mid-sequence
  EXPECT_EQ(s.tail(), "\xc3\xa9");
}

}  // namespace
}  // namespace shfn::exec
