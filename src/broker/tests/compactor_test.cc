// Compaction's rules (compactor.h) on real logs in a temporary directory, entry by entry as
// the clients store them: the latest value per key, tombstones in and out of batches, messages
// without a key, batches it cannot read, compressed batches, and a second compaction that builds
// on the first view.

#include "broker/compactor.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "pulsar_api.pb.h"
#include "wire/batch.h"
#include "wire/compression.h"
#include "wire/frame.h"

namespace shfn::broker {
namespace {

namespace pb = wire::pb;

struct message {
  std::optional<std::string> key;
  std::string payload;
};

bytes stored_entry(const pb::MessageMetadata& metadata, byte_view payload) {
  bytes out;
  wire::append_checksummed(out, metadata, payload);
  return out;
}

// A message sent on its own; `sized`: with uncompressed_size, as the Java and Go clients send it.
bytes single(const message& m, bool sized = true) {
  pb::MessageMetadata metadata;
  metadata.set_producer_name("p");
  metadata.set_sequence_id(0);
  metadata.set_publish_time(1);
  if (m.key) metadata.set_partition_key(*m.key);
  if (sized) metadata.set_uncompressed_size(static_cast<std::uint32_t>(m.payload.size()));
  return stored_entry(metadata, as_bytes(m.payload));
}

bytes batch(const std::vector<message>& messages, pb::CompressionType compression = pb::NONE) {
  bytes payload;
  for (const auto& m : messages) {
    pb::SingleMessageMetadata single;
    if (m.key) single.set_partition_key(*m.key);
    single.set_payload_size(static_cast<int>(m.payload.size()));
    wire::append_to_batch(payload, single, as_bytes(m.payload));
  }
  pb::MessageMetadata metadata;
  metadata.set_producer_name("p");
  metadata.set_sequence_id(0);
  metadata.set_publish_time(1);
  metadata.set_num_messages_in_batch(static_cast<int>(messages.size()));
  metadata.set_uncompressed_size(static_cast<std::uint32_t>(payload.size()));
  if (compression != pb::NONE) {
    metadata.set_compression(compression);
    payload = *wire::compress(compression, payload);
  }
  return stored_entry(metadata, payload);
}

// What a reader of the view gets of an entry: "key=payload" per message, "-" per placeholder.
std::vector<std::string> messages_of(const storage::entry& e) {
  auto section = wire::decode_checksummed(e.data);
  EXPECT_TRUE(section);
  if (!section) return {};
  const pb::MessageMetadata& metadata = section->metadata;
  const byte_view payload = section->payload;
  if (!metadata.has_num_messages_in_batch()) {
    return {metadata.partition_key() + "=" + std::string(payload.begin(), payload.end())};
  }
  bytes plain(payload.begin(), payload.end());
  if (metadata.compression() != pb::NONE) {
    plain = *wire::decompress(metadata.compression(), payload, metadata.uncompressed_size());
  }
  EXPECT_EQ(plain.size(), metadata.uncompressed_size());
  auto decoded = wire::decode_batch(plain, metadata.num_messages_in_batch());
  EXPECT_TRUE(decoded);
  std::vector<std::string> out;
  for (const auto& m : *decoded) {
    out.push_back(m.metadata.compacted_out() ? "-"
                                             : m.metadata.partition_key() + "=" +
                                                   std::string(m.payload.begin(), m.payload.end()));
  }
  return out;
}

class compactor : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = storage::log::open(dir_.path() / "log");
    ASSERT_TRUE(opened);
    log_ = std::move(*opened);
  }

  void append(const bytes& entry) { ASSERT_TRUE(log_->append(entry, 1)); }

  // Compacts everything so far; the view's entries as (offset, what a reader gets).
  std::vector<std::pair<std::uint64_t, std::vector<std::string>>> compact_all() {
    auto outcome = compact(
        {.log = log_, .previous = view_, .horizon = log_->end_offset(), .topic_dir = dir_.path()});
    EXPECT_TRUE(outcome) << outcome.error().message();
    if (!outcome) return {};
    view_ = outcome->view;
    removed_ = outcome->removed;
    std::vector<std::pair<std::uint64_t, std::vector<std::string>>> out;
    auto entries = view_->read(0, 1000, 1 << 20);
    EXPECT_TRUE(entries);
    for (const auto& e : *entries) out.emplace_back(e.offset, messages_of(e));
    return out;
  }

  using view = std::vector<std::pair<std::uint64_t, std::vector<std::string>>>;
  temp_dir dir_{"shfn-compactor-test"};
  std::shared_ptr<storage::log> log_;
  std::shared_ptr<const storage::compacted_log> view_;
  std::uint64_t removed_ = 0;
};

TEST_F(compactor, keeps_the_latest_value_of_each_key_and_drops_messages_without_one) {
  append(single({"a", "a1"}));
  append(single({"b", "b1"}));
  append(single({std::nullopt, "no key"}));
  append(single({"a", "a2"}));
  EXPECT_EQ(compact_all(), (view{{1, {"b=b1"}}, {3, {"a=a2"}}}));
  EXPECT_EQ(removed_, 2u);  // a1 replaced, the message without a key
  EXPECT_EQ(view_->horizon(), 4u);
}

TEST_F(compactor, an_empty_message_is_a_tombstone_when_its_size_is_given) {
  append(single({"a", "a1"}));
  append(single({"a", ""}));  // uncompressed_size 0: the key goes
  append(single({"b", "b1"}));
  append(single({"b", ""}, /*sized=*/false));  // no size: Pulsar counts the entry, a value
  EXPECT_EQ(compact_all(), (view{{3, {"b="}}}));
}

TEST_F(compactor, a_batch_keeps_its_indexes_with_placeholders_for_what_went) {
  append(single({"a", "a1"}));
  append(batch({{"b", "b1"}, {"a", ""}, {std::nullopt, "no key"}, {"b", "b2"}}));
  EXPECT_EQ(compact_all(), (view{{1, {"-", "-", "-", "b=b2"}}}));
  EXPECT_EQ(removed_, 3u);  // b1 replaced, a removed, the message without a key
}

TEST_F(compactor, a_batch_with_nothing_left_is_dropped_and_an_untouched_one_kept_as_it_was) {
  append(batch({{"a", "a1"}, {"b", "b1"}}));
  append(batch({{"a", "a2"}, {"b", "b2"}}));
  EXPECT_EQ(compact_all(), (view{{1, {"a=a2", "b=b2"}}}));
  auto kept = view_->read(0, 1, 1 << 20);
  auto original = log_->read(1, 1, 1 << 20);
  ASSERT_TRUE(kept && original);
  EXPECT_EQ(kept->front().data, original->front().data);
}

TEST_F(compactor, a_compressed_batch_is_compressed_again) {
  append(batch({{"a", "a1"}, {"a", std::string(200, 'x')}, {"c", "c1"}}, pb::LZ4));
  append(single({"c", "c2"}));
  EXPECT_EQ(compact_all(), (view{{0, {"-", "a=" + std::string(200, 'x'), "-"}}, {1, {"c=c2"}}}));
}

TEST_F(compactor, a_batch_it_cannot_read_is_kept_whole) {
  bytes broken = batch({{"a", "a1"}, {"a", "a2"}});
  broken.resize(broken.size() - 3);  // the batch's last message cut short
  append(broken);
  append(single({"a", "a3"}));
  auto outcome = compact({.log = log_, .horizon = 2, .topic_dir = dir_.path()});
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->view->entries(), 2u);
}

TEST_F(compactor, compacting_again_merges_the_view_with_what_came_after_it) {
  append(single({"a", "a1"}));
  append(single({"b", "b1"}));
  append(single({"a", "a2"}));
  compact_all();
  append(single({"b", "b2"}));
  append(single({"c", ""}));
  append(single({"a", ""}));
  EXPECT_EQ(compact_all(), (view{{3, {"b=b2"}}}));
  EXPECT_EQ(view_->generation(), 1u);
}

TEST_F(compactor, an_entry_without_readable_metadata_fails_the_compaction) {
  append(single({"a", "a1"}));
  bytes garbage;
  put_u32(garbage, 9);
  const std::string_view not_protobuf = "garbage!!";
  garbage.insert(garbage.end(), not_protobuf.begin(), not_protobuf.end());
  append(garbage);
  EXPECT_FALSE(compact({.log = log_, .horizon = 2, .topic_dir = dir_.path()}));
}

TEST_F(compactor, the_last_message_kept_in_a_batch_is_what_a_reader_gets_last) {
  EXPECT_EQ(last_kept_index(single({"a", "a1"})), -1);
  append(batch({{"a", "a1"}, {"b", "b1"}, {"a", "a2"}}));
  compact_all();
  auto last = view_->last();
  ASSERT_TRUE(last && *last);
  EXPECT_EQ(last_kept_index((*last)->data), 2);
  append(single({"a", "a3"}));
  compact_all();  // the batch's a2 goes: b1, index 1, is its last message kept
  auto entries = view_->read(0, 1, 1 << 20);
  ASSERT_TRUE(entries);
  EXPECT_EQ(last_kept_index(entries->front().data), 1);
}

}  // namespace
}  // namespace shfn::broker
