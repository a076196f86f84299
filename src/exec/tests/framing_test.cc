#include "exec/framing.h"

#include <gtest/gtest.h>

#include "exec/errc.h"

namespace shfn::exec {
namespace {

bytes b(std::string_view s) {
  return bytes(s.begin(), s.end());
}

bytes encode(framing f, std::string_view payload) {
  bytes out;
  EXPECT_TRUE(encode_frame(f, as_bytes(payload), out));
  return out;
}

// Decodes `stream` fed in pieces of `step` bytes; stops at the first error.
result<std::vector<bytes>> decode_all(framing f, std::size_t max, const bytes& stream,
                                      std::size_t step) {
  frame_decoder d(f, max);
  std::vector<bytes> frames;
  for (std::size_t i = 0; i < stream.size(); i += step) {
    d.feed(byte_view(stream).subspan(i, std::min(step, stream.size() - i)));
    while (true) {
      auto next = d.next();
      if (!next) return fail(next.error());
      if (!*next) break;
      frames.push_back(std::move(**next));
    }
  }
  return frames;
}

TEST(framing, encodes_each_framing) {
  EXPECT_EQ(encode(framing::lines, "abc"), b("abc\n"));
  EXPECT_EQ(encode(framing::nul, "a\nb"), b(std::string_view("a\nb\0", 4)));
  EXPECT_EQ(encode(framing::length_prefixed, "hi"), b(std::string_view("\0\0\0\2hi", 6)));
  EXPECT_EQ(encode(framing::length_prefixed, ""), b(std::string_view("\0\0\0\0", 4)));
  EXPECT_EQ(encode(framing::lines, ""), b("\n"));
}

TEST(framing, a_payload_holding_the_delimiter_is_refused_and_nothing_written) {
  bytes out = b("kept");
  auto r = encode_frame(framing::lines, as_bytes("two\nlines"), out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::payload_contains_delimiter);
  EXPECT_EQ(out, b("kept"));
  r = encode_frame(framing::nul, as_bytes(std::string_view("a\0b", 3)), out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::payload_contains_delimiter);
  // Length prefixes carry anything.
  EXPECT_TRUE(encode_frame(framing::length_prefixed, as_bytes(std::string_view("\n\0", 2)), out));
}

class every_framing : public ::testing::TestWithParam<framing> {};

TEST_P(every_framing, round_trips_frames_fed_one_byte_at_a_time) {
  const framing f = GetParam();
  std::vector<std::string> payloads = {"first", "", "third one", std::string(300, 'x')};
  if (f == framing::length_prefixed) payloads.push_back(std::string("\0\n\xff\0", 4));
  bytes stream;
  for (const auto& p : payloads) ASSERT_TRUE(encode_frame(f, as_bytes(p), stream));
  for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{7}, stream.size()}) {
    auto frames = decode_all(f, 1000, stream, step);
    ASSERT_TRUE(frames) << frames.error().message();
    ASSERT_EQ(frames->size(), payloads.size()) << "step " << step;
    for (std::size_t i = 0; i < payloads.size(); ++i) EXPECT_EQ((*frames)[i], b(payloads[i]));
  }
}

TEST_P(every_framing, waits_for_the_rest_of_a_frame) {
  frame_decoder d(GetParam(), 100);
  bytes stream;
  ASSERT_TRUE(encode_frame(GetParam(), as_bytes("partial"), stream));
  d.feed(byte_view(stream).first(stream.size() - 1));
  auto next = d.next();
  ASSERT_TRUE(next);
  EXPECT_FALSE(*next);
  EXPECT_EQ(d.buffered(), stream.size() - 1);
  d.feed(byte_view(stream).last(1));
  next = d.next();
  ASSERT_TRUE(next && *next);
  EXPECT_EQ(**next, b("partial"));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST_P(every_framing, a_frame_at_the_limit_passes_one_byte_more_fails) {
  const framing f = GetParam();
  bytes at_limit, over;
  ASSERT_TRUE(encode_frame(f, as_bytes(std::string(16, 'a')), at_limit));
  ASSERT_TRUE(encode_frame(f, as_bytes(std::string(17, 'a')), over));
  auto ok = decode_all(f, 16, at_limit, 1);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 1u);
  auto too_large = decode_all(f, 16, over, 1);
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error(), errc::frame_too_large);
}

INSTANTIATE_TEST_SUITE_P(framing, every_framing,
                         ::testing::Values(framing::lines, framing::nul, framing::length_prefixed),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(framing, an_oversize_line_fails_before_its_delimiter_arrives) {
  frame_decoder d(framing::lines, 8);
  d.feed(as_bytes("12345678"));
  auto next = d.next();
  ASSERT_TRUE(next);
  EXPECT_FALSE(*next);
  d.feed(as_bytes("9"));  // a ninth byte with no newline: cannot fit any more
  next = d.next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error(), errc::frame_too_large);
  d.feed(as_bytes("\nok\n"));  // the stream lost its boundaries: still failing
  EXPECT_FALSE(d.next());
}

TEST(framing, an_oversize_length_prefix_fails_before_its_body) {
  frame_decoder d(framing::length_prefixed, 1024);
  d.feed(as_bytes(std::string_view("\x7f\xff\xff\xff", 4)));
  auto next = d.next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error(), errc::frame_too_large);
}

TEST(framing, many_frames_in_one_feed_and_a_long_stream_stay_bounded) {
  frame_decoder d(framing::nul, 64);
  bytes chunk;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(encode_frame(framing::nul, as_bytes("frame"), chunk));
  std::size_t frames = 0;
  for (int round = 0; round < 100; ++round) {
    d.feed(chunk);
    while (true) {
      auto next = d.next();
      ASSERT_TRUE(next);
      if (!*next) break;
      ++frames;
    }
    EXPECT_EQ(d.buffered(), 0u);
  }
  EXPECT_EQ(frames, 10000u);
}

}  // namespace
}  // namespace shfn::exec
