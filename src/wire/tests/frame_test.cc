#include "wire/frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "wire/crc32c.h"
#include "wire/errc.h"
#include "wire/frame_buffer.h"

namespace shfn::wire {
namespace {

pb::BaseCommand ping() {
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::PING);
  c.mutable_ping();
  return c;
}

pb::BaseCommand send_command() {
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::SEND);
  auto* s = c.mutable_send();
  s->set_producer_id(1);
  s->set_sequence_id(7);
  return c;
}

pb::MessageMetadata metadata() {
  pb::MessageMetadata m;
  m.set_producer_name("p");
  m.set_sequence_id(7);
  m.set_publish_time(1234);
  return m;
}

bytes payload_frame(std::string_view payload) {
  bytes out;
  append_payload_command(out, send_command(), metadata(), as_bytes(payload));
  return out;
}

TEST(frame, ping_encodes_byte_exact) {
  // total 9, command 5: type=PING(18) and an empty `ping` field (#18).
  bytes expected{0, 0, 0, 9, 0, 0, 0, 5, 0x08, 0x12, 0x92, 0x01, 0x00};
  EXPECT_EQ(encode_command(ping()), expected);
}

TEST(frame, payload_frame_layout_and_checksum_are_exact) {
  bytes f = payload_frame("hi");
  const auto command_size = send_command().ByteSizeLong();
  const auto metadata_size = metadata().ByteSizeLong();
  ASSERT_EQ(f.size(), 4 + 4 + command_size + 2 + 4 + 4 + metadata_size + 2);
  EXPECT_EQ(load_u32(f.data()), f.size() - 4);
  EXPECT_EQ(load_u32(f.data() + 4), command_size);
  const std::uint8_t* section = f.data() + 8 + command_size;
  EXPECT_EQ(section[0], 0x0e);
  EXPECT_EQ(section[1], 0x01);
  std::uint32_t expected_crc = crc32c(byte_view(section + 6, f.data() + f.size() - (section + 6)));
  EXPECT_EQ(load_u32(section + 2), expected_crc);
  EXPECT_EQ(load_u32(section + 6), metadata_size);
  EXPECT_EQ(f[f.size() - 2], 'h');
  EXPECT_EQ(f[f.size() - 1], 'i');
}

TEST(frame, decodes_what_it_encodes) {
  bytes stream = encode_command(ping());
  bytes second = payload_frame(std::string("a\0b", 3));
  stream.insert(stream.end(), second.begin(), second.end());

  auto first = decode_frame(stream);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->value.command.type(), pb::BaseCommand::PING);
  EXPECT_FALSE((*first)->value.metadata.has_value());

  auto next = decode_frame(byte_view(stream).subspan((*first)->consumed));
  ASSERT_TRUE(next.has_value() && next->has_value());
  const frame& f = (*next)->value;
  EXPECT_EQ(f.command.send().sequence_id(), 7u);
  ASSERT_TRUE(f.metadata.has_value());
  EXPECT_EQ(f.metadata->producer_name(), "p");
  EXPECT_EQ(as_chars(f.payload), std::string_view("a\0b", 3));
  EXPECT_EQ((*first)->consumed + (*next)->consumed, stream.size());
}

TEST(frame, a_stored_section_is_sent_on_byte_exact) {
  // A broker keeps frame::checksummed as the entry and re-frames it for MESSAGE: the result must
  // be the frame that encoding the same metadata and payload afresh would give.
  bytes original = payload_frame("stored");
  auto decoded = decode_frame(original);
  ASSERT_TRUE(decoded.has_value() && decoded->has_value());
  bytes reframed;
  append_stored_payload_command(reframed, send_command(), (*decoded)->value.checksummed);
  EXPECT_EQ(reframed, original);
}

TEST(frame, a_checksummed_section_is_what_a_frame_carries_and_comes_apart_again) {
  bytes section;
  append_checksummed(section, metadata(), as_bytes(std::string_view("a\0b", 3)));
  const bytes frame_bytes = payload_frame(std::string("a\0b", 3));  // what `decoded` points into
  auto decoded = decode_frame(frame_bytes);
  ASSERT_TRUE(decoded.has_value() && decoded->has_value());
  EXPECT_TRUE(std::ranges::equal(section, (*decoded)->value.checksummed));

  auto parts = decode_checksummed(section);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->metadata.producer_name(), "p");
  EXPECT_EQ(as_chars(parts->payload), std::string_view("a\0b", 3));
  EXPECT_EQ(decode_checksummed(byte_view(section).first(6)).error(), errc::frame_too_small);
  section[4] = 0xff;  // not a protobuf field
  EXPECT_EQ(decode_checksummed(section).error(), errc::bad_metadata);
}

TEST(frame, every_truncation_asks_for_more_bytes) {
  bytes f = payload_frame("payload");
  for (std::size_t n = 0; n < f.size(); ++n) {
    auto r = decode_frame(byte_view(f).first(n));
    ASSERT_TRUE(r.has_value()) << "prefix " << n;
    EXPECT_FALSE(r->has_value()) << "prefix " << n;
  }
}

TEST(frame, oversized_frame_is_refused_before_it_is_buffered) {
  bytes header{0x7f, 0xff, 0xff, 0xff};
  auto r = decode_frame(header, 1024);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::frame_too_large);
}

TEST(frame, command_size_larger_than_frame_is_an_error) {
  bytes f{0, 0, 0, 6, 0, 0, 0, 50, 0x08, 0x12};
  auto r = decode_frame(f);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::frame_too_small);
}

TEST(frame, garbage_command_is_an_error) {
  bytes f{0, 0, 0, 7, 0, 0, 0, 3, 0xff, 0xff, 0xff};
  auto r = decode_frame(f);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::bad_command);
}

TEST(frame, missing_required_field_is_an_error) {
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::SEND);
  c.mutable_send()->set_producer_id(1);  // sequence_id is required and missing
  std::string raw = c.SerializePartialAsString();
  bytes f;
  put_u32(f, static_cast<std::uint32_t>(4 + raw.size()));
  put_u32(f, static_cast<std::uint32_t>(raw.size()));
  f.insert(f.end(), raw.begin(), raw.end());
  auto r = decode_frame(f);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::bad_command);
}

TEST(frame, corrupted_payload_fails_the_checksum) {
  bytes f = payload_frame("payload");
  f.back() ^= 0x01;
  auto r = decode_frame(f);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::bad_checksum);
}

TEST(frame, unknown_magic_is_an_error) {
  bytes f = payload_frame("payload");
  f[8 + send_command().ByteSizeLong()] = 0x0f;
  auto r = decode_frame(f);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::bad_magic);
}

TEST(frame, metadata_size_past_the_end_is_an_error) {
  bytes f = payload_frame("");
  const std::size_t section = 8 + send_command().ByteSizeLong();
  store_u32(f.data() + section + 6, 0xffff);
  // Recompute the checksum so that only the size lies.
  store_u32(f.data() + section + 2, crc32c(byte_view(f).subspan(section + 6)));
  auto r = decode_frame(f);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::frame_too_small);
}

TEST(frame, broker_entry_metadata_is_parsed_when_present) {
  bytes plain = payload_frame("x");
  const std::size_t command_end = 8 + send_command().ByteSizeLong();
  pb::BrokerEntryMetadata bem;
  bem.set_broker_timestamp(99);
  bem.set_index(5);
  std::string raw = bem.SerializeAsString();
  bytes f(plain.begin(), plain.begin() + static_cast<long>(command_end));
  put_u16(f, magic_broker_entry_metadata);
  put_u32(f, static_cast<std::uint32_t>(raw.size()));
  f.insert(f.end(), raw.begin(), raw.end());
  f.insert(f.end(), plain.begin() + static_cast<long>(command_end), plain.end());
  store_u32(f.data(), static_cast<std::uint32_t>(f.size() - 4));
  auto r = decode_frame(f);
  ASSERT_TRUE(r.has_value() && r->has_value());
  ASSERT_TRUE((*r)->value.broker_entry_metadata.has_value());
  EXPECT_EQ((*r)->value.broker_entry_metadata->index(), 5);
  EXPECT_EQ(as_chars((*r)->value.payload), "x");
}

TEST(frame_buffer, frames_arrive_whole_however_the_bytes_are_split) {
  bytes stream = encode_command(ping());
  bytes big = payload_frame(std::string(200 * 1024, 'z'));  // larger than the initial buffer
  stream.insert(stream.end(), big.begin(), big.end());
  frame_buffer in(1 << 20, 16);
  std::vector<std::size_t> payload_sizes;
  for (std::size_t at = 0; at < stream.size();) {
    auto space = in.writable();
    const std::size_t n = std::min({space.size(), stream.size() - at, std::size_t{4099}});
    std::memcpy(space.data(), stream.data() + at, n);
    in.commit(n);
    at += n;
    for (;;) {
      auto f = in.next();
      ASSERT_TRUE(f.has_value()) << f.error().message();
      if (!f->has_value()) break;
      payload_sizes.push_back((*f)->payload.size());
    }
  }
  EXPECT_EQ(payload_sizes, (std::vector<std::size_t>{0, 200 * 1024}));
}

// A broker holds thousands of connections: an idle one costs a small buffer, a busy one is read
// in large chunks.
TEST(frame_buffer, starts_small_and_grows_while_reads_fill_it) {
  frame_buffer in(1 << 20);
  EXPECT_LE(in.writable().size(), 4096u) << "an idle connection's buffer";
  const bytes frame = encode_command(ping());
  std::size_t sent = 0, largest = 0, frames = 0;
  for (int read = 0; read < 32; ++read) {  // a fast peer: every read fills the space it is given
    auto space = in.writable();
    largest = std::max(largest, space.size());
    for (auto& b : space) b = frame[sent++ % frame.size()];
    in.commit(space.size());
    for (;;) {
      auto f = in.next();
      ASSERT_TRUE(f);
      if (!f->has_value()) break;
      ++frames;
    }
  }
  EXPECT_EQ(frames, sent / frame.size()) << "every whole frame, however the reads cut them";
  EXPECT_GE(largest, frame_buffer::read_ahead / 2) << "grew with the stream";
  EXPECT_LE(largest, frame_buffer::read_ahead) << "but no further";
}

TEST(frame_buffer, a_corrupt_stream_is_an_error) {
  frame_buffer in(1024);
  auto space = in.writable();
  const bytes oversized{0, 0, 0x10, 0};  // 4 KiB frame, over the 1 KiB limit
  std::memcpy(space.data(), oversized.data(), oversized.size());
  in.commit(oversized.size());
  EXPECT_FALSE(in.next().has_value());
}

}  // namespace
}  // namespace shfn::wire
