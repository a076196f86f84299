// The consumer's entry decoding without a socket: MESSAGE frames scripted as a broker sends them
// (plain, batched, compressed, chunked, redelivered with an ack set, compacted), and what the
// application would see: messages queued, permits returned, entries acked, dead letters.

#include "client/entry_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "wire/compression.h"

namespace shfn::client {
namespace {

namespace pb = wire::pb;

bytes to_bytes(std::string_view s) {
  return {s.begin(), s.end()};
}
std::string text(const bytes& b) {
  return {b.begin(), b.end()};
}

// A MESSAGE frame for entry (3, `entry`). The frame views `payload`, which the test keeps.
struct scripted_entry {
  pb::BaseCommand command;
  pb::MessageMetadata metadata;
  bytes payload;

  explicit scripted_entry(std::int64_t entry) {
    command.set_type(pb::BaseCommand::MESSAGE);
    command.mutable_message()->set_consumer_id(1);
    command.mutable_message()->mutable_message_id()->set_ledgerid(3);
    command.mutable_message()->mutable_message_id()->set_entryid(static_cast<std::uint64_t>(entry));
    metadata.set_producer_name("p");
    metadata.set_sequence_id(static_cast<std::uint64_t>(entry));
    metadata.set_publish_time(1000);
  }
  scripted_entry& redelivered(std::uint32_t times) {
    command.mutable_message()->set_redelivery_count(times);
    return *this;
  }
  // The broker's ack set: bit i set while message i of the batch is still unacked.
  scripted_entry& still_unacked(std::uint64_t bits) {
    command.mutable_message()->add_ack_set(static_cast<std::int64_t>(bits));
    return *this;
  }
  wire::frame frame() const {
    return wire::frame{.command = command,
                       .metadata = metadata,
                       .broker_entry_metadata = std::nullopt,
                       .payload = payload,
                       .checksummed = {}};
  }
};

scripted_entry plain(std::int64_t entry, std::string_view payload) {
  scripted_entry e(entry);
  e.metadata.set_partition_key("k");
  auto* p = e.metadata.add_properties();
  p->set_key("color");
  p->set_value("red");
  e.payload = to_bytes(payload);
  return e;
}

// A batch of the given payloads; those in `compacted` are marked compacted out.
scripted_entry batch(std::int64_t entry, const std::vector<std::string>& payloads,
                     const std::vector<int>& compacted = {}) {
  scripted_entry e(entry);
  e.metadata.set_num_messages_in_batch(static_cast<int>(payloads.size()));
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    pb::SingleMessageMetadata single;
    single.set_payload_size(static_cast<int>(payloads[i].size()));
    single.set_sequence_id(100 + i);
    if (std::ranges::find(compacted, static_cast<int>(i)) != compacted.end()) {
      single.set_compacted_out(true);
    }
    wire::append_to_batch(e.payload, single, to_bytes(payloads[i]));
  }
  return e;
}

scripted_entry compressed(scripted_entry e, pb::CompressionType type) {
  auto packed = wire::compress(type, e.payload);
  EXPECT_TRUE(packed.has_value());
  e.metadata.set_compression(type);
  e.metadata.set_uncompressed_size(static_cast<std::uint32_t>(e.payload.size()));
  e.payload = std::move(*packed);
  return e;
}

// Chunk `id` of `count` of the message `uuid`, carried by entry `entry`.
scripted_entry chunk(std::int64_t entry, const std::string& uuid, int id, int count,
                     std::string_view part) {
  scripted_entry e(entry);
  e.metadata.set_uuid(uuid);
  e.metadata.set_chunk_id(id);
  e.metadata.set_num_chunks_from_msg(count);
  e.payload = to_bytes(part);
  return e;
}

std::vector<std::string> drain(message_queue& q) {
  std::vector<std::string> out;
  while (!q.empty()) {
    out.push_back(text(q.front().payload));
    q.pop_front();
  }
  return out;
}

wire::message_id id_of(std::int64_t entry, int batch_index = -1, int batch_size = 0) {
  return {.ledger = 3,
          .entry = entry,
          .partition = 2,
          .batch_index = batch_index,
          .batch_size = batch_size};
}

class entry_decoder_test : public ::testing::Test {
 protected:
  entry_decoder decoder{"persistent://public/default/t-partition-2", 2, 0};
  message_queue queue;
};

TEST_F(entry_decoder_test, a_message_is_queued_with_what_the_producer_gave_it) {
  const auto e = plain(5, "hello").redelivered(1);
  const auto out = decoder.decode(e.frame(), queue);
  EXPECT_EQ(out.charged, 1);
  EXPECT_EQ(out.queued, 1);
  EXPECT_EQ(out.permits_back, 0);
  EXPECT_FALSE(out.ack);
  ASSERT_EQ(queue.size(), 1u);
  const message& m = queue.front();
  EXPECT_EQ(text(m.payload), "hello");
  EXPECT_EQ(m.id, id_of(5));
  EXPECT_EQ(m.topic, "persistent://public/default/t-partition-2");
  EXPECT_EQ(m.key, "k");
  EXPECT_EQ(m.properties, (property_list{{"color", "red"}}));
  EXPECT_EQ(m.producer_name, "p");
  EXPECT_EQ(m.sequence_id, 5u);
  EXPECT_EQ(m.publish_time, 1000u);
  EXPECT_EQ(m.redelivery_count, 1u);
  const auto acks = decoder.acknowledge(m.id);
  EXPECT_EQ(acks.entry, id_of(5));
  EXPECT_TRUE(acks.other_chunks.empty());
}

TEST_F(entry_decoder_test, a_batch_is_split_and_its_entry_acked_with_its_last_message) {
  const auto e = batch(7, {"a", "b", "c"});
  const auto out = decoder.decode(e.frame(), queue);
  EXPECT_EQ(out.charged, 3) << "a batch takes a permit per message";
  EXPECT_EQ(out.queued, 3);
  EXPECT_EQ(queue.front().id, id_of(7, 0, 3));
  EXPECT_EQ(queue.front().sequence_id, 100u) << "each message has its own sequence id";
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(decoder.acknowledge(id_of(7, 2, 3)).entry);
  EXPECT_FALSE(decoder.acknowledge(id_of(7, 0, 3)).entry);
  EXPECT_EQ(decoder.acknowledge(id_of(7, 1, 3)).entry, id_of(7, 1, 3));
  EXPECT_EQ(decoder.batches_tracked(), 0u);
}

TEST_F(entry_decoder_test, a_redelivered_partial_batch_brings_back_only_what_was_given_back) {
  auto e = batch(7, {"a", "b", "c", "d"});
  (void)decoder.decode(e.frame(), queue);
  drain(queue);
  (void)decoder.acknowledge(id_of(7, 0, 4));  // processed
  decoder.give_back(id_of(7, 1, 4));          // negatively acked; 2 and 3 are still being worked on
  // The broker knows nothing of acks inside an entry it has not been told is done: it sends the
  // whole entry again.
  const auto out = decoder.decode(e.redelivered(1).frame(), queue);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"b"}));
  EXPECT_EQ(out.permits_back, 3) << "what is not delivered again hands its permits back";
  EXPECT_FALSE(decoder.acknowledge(id_of(7, 1, 4)).entry);
  EXPECT_FALSE(decoder.acknowledge(id_of(7, 2, 4)).entry);
  EXPECT_TRUE(decoder.acknowledge(id_of(7, 3, 4)).entry);
}

TEST_F(entry_decoder_test, messages_the_brokers_ack_set_marks_acked_are_not_delivered) {
  const auto e = batch(8, {"a", "b", "c", "d"}).still_unacked(0b1010);
  const auto out = decoder.decode(e.frame(), queue);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(out.permits_back, 2);
  EXPECT_FALSE(decoder.acknowledge(id_of(8, 1, 4)).entry);
  EXPECT_TRUE(decoder.acknowledge(id_of(8, 3, 4)).entry);
}

TEST_F(entry_decoder_test, compacted_out_messages_are_skipped_and_an_entry_left_empty_is_acked) {
  const auto some = batch(9, {"a", "b", "c"}, {0, 2});
  auto out = decoder.decode(some.frame(), queue);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"b"}));
  EXPECT_EQ(out.permits_back, 2);
  EXPECT_FALSE(out.ack);

  const auto all = batch(10, {"a", "b"}, {0, 1});
  out = decoder.decode(all.frame(), queue);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(out.permits_back, 2);
  EXPECT_EQ(out.ack, id_of(10)) << "nothing left to deliver: the entry is acked at once";
}

TEST_F(entry_decoder_test, an_entry_redelivered_past_the_limit_goes_whole_to_the_dead_letters) {
  entry_decoder limited("t", -1, 2);
  const auto e = batch(11, {"a", "b"});
  auto out = limited.decode(scripted_entry(e).redelivered(2).frame(), queue);
  EXPECT_EQ(out.queued, 2) << "at the limit: still delivered";
  EXPECT_TRUE(out.dead_letters.empty());
  drain(queue);
  limited.give_back({.ledger = 3, .entry = 11, .batch_index = 0, .batch_size = 2});
  limited.give_back({.ledger = 3, .entry = 11, .batch_index = 1, .batch_size = 2});

  out = limited.decode(scripted_entry(e).redelivered(3).frame(), queue);
  EXPECT_TRUE(queue.empty()) << "the application does not see it again";
  ASSERT_EQ(out.dead_letters.size(), 2u);
  EXPECT_EQ(text(out.dead_letters[1].payload), "b");
  EXPECT_EQ(out.dead_letters[1].redelivery_count, 3u);
  EXPECT_EQ(out.permits_back, 2);
  // Once published to the dead-letter topic, the dead letters are acked like any message.
  EXPECT_FALSE(limited.acknowledge(out.dead_letters[0].id).entry);
  EXPECT_TRUE(limited.acknowledge(out.dead_letters[1].id).entry);

  out = limited.decode(plain(12, "x").redelivered(3).frame(), queue);
  EXPECT_EQ(out.dead_letters.size(), 1u);
  EXPECT_EQ(out.permits_back, 1);
}

TEST_F(entry_decoder_test, compressed_entries_are_delivered_decompressed) {
  const auto one = compressed(plain(13, std::string(1000, 'z')), pb::ZLIB);
  (void)decoder.decode(one.frame(), queue);
  const auto many = compressed(batch(14, {"a", "bb"}), pb::LZ4);
  (void)decoder.decode(many.frame(), queue);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{std::string(1000, 'z'), "a", "bb"}));
}

TEST_F(entry_decoder_test, an_entry_that_cannot_be_decompressed_is_dropped_and_its_permits_return) {
  auto e = batch(15, {"a", "b", "c"});
  e.metadata.set_compression(pb::LZ4);
  e.metadata.set_uncompressed_size(64);
  e.payload = to_bytes("not lz4 at all");
  const auto out = decoder.decode(e.frame(), queue);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(out.permits_back, 3);
  EXPECT_FALSE(out.ack) << "left unacknowledged, not lost";
}

TEST_F(entry_decoder_test, a_malformed_batch_is_dropped_and_its_permits_return) {
  auto e = batch(16, {"a", "b"});
  e.metadata.set_num_messages_in_batch(5);  // says more than it holds
  const auto out = decoder.decode(e.frame(), queue);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(out.permits_back, 5);
  EXPECT_FALSE(out.ack);
}

TEST_F(entry_decoder_test, a_frame_without_metadata_is_dropped) {
  auto e = plain(17, "x");
  auto f = e.frame();
  f.metadata.reset();
  const auto out = decoder.decode(f, queue);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(out.permits_back, 1);
}

TEST_F(entry_decoder_test, chunks_are_gathered_into_one_message_acked_with_every_chunk) {
  const auto c0 = chunk(20, "u1", 0, 3, "he");
  const auto c1 = chunk(21, "u1", 1, 3, "ll");
  const auto c2 = chunk(22, "u1", 2, 3, "o");
  EXPECT_EQ(decoder.decode(c0.frame(), queue).permits_back, 1) << "nothing to deliver yet";
  EXPECT_EQ(decoder.decode(c1.frame(), queue).permits_back, 1);
  const auto out = decoder.decode(c2.frame(), queue);
  EXPECT_EQ(out.queued, 1);
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.front().id, id_of(22)) << "a chunked message has its last chunk's id";
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"hello"}));
  EXPECT_EQ(decoder.chunks_of(id_of(22)), (std::vector{id_of(20), id_of(21)}));

  const auto acks = decoder.acknowledge(id_of(22));
  EXPECT_EQ(acks.entry, id_of(22));
  EXPECT_EQ(acks.other_chunks, (std::vector{id_of(20), id_of(21)}));
  EXPECT_TRUE(decoder.chunks_of(id_of(22)).empty());
}

TEST_F(entry_decoder_test, a_chunked_message_is_decompressed_as_a_whole) {
  const std::string whole(5000, 'q');
  auto packed = wire::compress(pb::ZLIB, to_bytes(whole));
  ASSERT_TRUE(packed.has_value());
  const std::string p(packed->begin(), packed->end());
  const auto half = p.size() / 2;
  auto c0 = chunk(30, "u2", 0, 2, std::string_view(p).substr(0, half));
  auto c1 = chunk(31, "u2", 1, 2, std::string_view(p).substr(half));
  for (auto* c : {&c0, &c1}) {
    c->metadata.set_compression(pb::ZLIB);
    c->metadata.set_uncompressed_size(static_cast<std::uint32_t>(whole.size()));
  }
  (void)decoder.decode(c0.frame(), queue);
  (void)decoder.decode(c1.frame(), queue);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{whole}));
}

TEST_F(entry_decoder_test, a_chunk_without_the_chunks_before_it_is_not_delivered) {
  const auto c1 = chunk(41, "u3", 1, 2, "lo");
  auto out = decoder.decode(c1.frame(), queue);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(out.permits_back, 1);
  EXPECT_FALSE(out.ack) << "left unacknowledged";

  // A reconnect loses what was gathered: the broker resends the message from its first chunk.
  const auto c0 = chunk(40, "u3", 0, 2, "hel");
  (void)decoder.decode(c0.frame(), queue);
  decoder.disconnected();
  (void)decoder.decode(c1.frame(), queue);
  EXPECT_TRUE(queue.empty());
  (void)decoder.decode(c0.frame(), queue);
  (void)decoder.decode(c1.frame(), queue);
  EXPECT_EQ(drain(queue), (std::vector<std::string>{"hello"}));
}

TEST_F(entry_decoder_test, a_cumulative_ack_inside_a_batch_stops_at_the_entry_before) {
  (void)decoder.decode(batch(50, {"a", "b", "c"}).frame(), queue);
  drain(queue);
  EXPECT_EQ(decoder.acknowledge_cumulative(id_of(50, 1, 3)), id_of(49, 1, 3))
      << "the entry's other messages are not acked by it";
  EXPECT_EQ(decoder.acknowledge_cumulative(id_of(50, 2, 3)), id_of(50, 2, 3));
  EXPECT_EQ(decoder.batches_tracked(), 0u);
  EXPECT_FALSE(decoder.acknowledge(id_of(50, 0, 3)).entry) << "acked cumulatively already";
}

}  // namespace
}  // namespace shfn::client
