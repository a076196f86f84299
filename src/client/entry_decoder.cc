#include "client/entry_decoder.h"

#include <algorithm>

#include "base/log.h"
#include "wire/compression.h"

namespace shfn::client {

namespace pb = wire::pb;

namespace {

// Bit i of the broker's ack_set is set while message i of the batch is still unacked.
bool still_unacked(const pb::CommandMessage& m, int index) {
  if (m.ack_set_size() == 0) return true;
  const int word = index / 64;
  if (word >= m.ack_set_size()) return false;
  return (static_cast<std::uint64_t>(m.ack_set(word)) >> (index % 64)) & 1u;
}

template <class Metadata>
void copy_fields(const Metadata& from, message& to) {
  if (from.has_partition_key()) to.key = from.partition_key();
  for (const auto& p : from.properties()) to.properties.emplace_back(p.key(), p.value());
  to.event_time = from.event_time();
}

}  // namespace

// Where the messages of one entry go: built in place at the back of the queue (no intermediate
// copies or moves; the payload is copied once, into the message's own bytes), or into dead
// letters, which are rare. Every message starts with what the entry's messages share.
struct entry_decoder::sink {
  message_queue& queue;
  outcome& out;
  const std::string& topic;
  const wire::message_id& entry;
  const pb::MessageMetadata& meta;
  std::uint32_t redelivery_count;
  bool to_dead_letter;

  message& start() {
    message& m = to_dead_letter ? out.dead_letters.emplace_back() : queue.emplace_back();
    m.id = entry;
    m.topic = topic;
    m.producer_name = meta.producer_name();
    m.sequence_id = meta.sequence_id();
    m.publish_time = meta.publish_time();
    m.redelivery_count = redelivery_count;
    return m;
  }
  void finish() {
    if (!to_dead_letter) ++out.queued;
  }
};

entry_decoder::entry_decoder(std::string topic, int partition, int max_redeliver_count)
    : topic_(std::move(topic)), partition_(partition), max_redeliver_count_(max_redeliver_count) {}

entry_decoder::outcome entry_decoder::decode(const wire::frame& f, message_queue& queue) {
  outcome out;
  if (f.metadata && f.metadata->has_num_messages_in_batch()) {
    out.charged = std::max(1, f.metadata->num_messages_in_batch());
  }
  place(f, queue, out);
  // Every permit the entry took and did not turn into a queued message goes back: messages
  // dropped, skipped, dead-lettered, or not complete yet.
  out.permits_back = std::max(0, out.charged - out.queued);
  return out;
}

void entry_decoder::place(const wire::frame& f, message_queue& queue, outcome& out) {
  if (!f.metadata) {
    spdlog::warn("consumer on {}: message without metadata dropped", topic_);
    return;
  }
  const pb::MessageMetadata& meta = *f.metadata;
  const auto& command = f.command.message();
  wire::message_id entry = wire::message_id::from_pb(command.message_id());
  entry.partition = partition_;
  entry.batch_index = -1;

  byte_view body = f.payload;
  bytes unpacked;
  if (meta.num_chunks_from_msg() > 1) {
    if (!gather_chunk(f, entry, unpacked)) return;  // nothing to deliver yet
    body = unpacked;
  } else if (meta.compression() != pb::NONE) {
    auto plain = wire::decompress(meta.compression(), f.payload, meta.uncompressed_size());
    if (!plain) {
      spdlog::error("consumer on {}: cannot decompress message {}: {}; left unacknowledged", topic_,
                    entry.str(), plain.error().message());
      return;
    }
    unpacked = std::move(*plain);
    body = unpacked;
  }

  const std::uint32_t redelivery_count = command.redelivery_count();
  // The whole entry shares its redelivery count, so it goes to the dead-letter topic as a whole.
  const bool to_dead_letter = max_redeliver_count_ > 0 &&
                              redelivery_count > static_cast<std::uint32_t>(max_redeliver_count_);
  sink to{queue, out, topic_, entry, meta, redelivery_count, to_dead_letter};

  if (!meta.has_num_messages_in_batch()) {
    message& m = to.start();
    copy_fields(meta, m);
    if (unpacked.empty()) {
      m.payload.assign(body.begin(), body.end());
    } else {
      m.payload = std::move(unpacked);
    }
    to.finish();
    return;
  }
  decode_batch(f, body, entry, to, out);
}

void entry_decoder::decode_batch(const wire::frame& f, byte_view body,
                                 const wire::message_id& entry, sink& to, outcome& out) {
  auto entries = wire::decode_batch(body, f.metadata->num_messages_in_batch(), batch_scratch_);
  if (!entries) {
    spdlog::error("consumer on {}: malformed batch {}: {}; left unacknowledged", topic_,
                  entry.str(), entries.error().message());
    return;
  }
  const int count = static_cast<int>(entries->size());
  const auto& command = f.command.message();
  const auto gone = [&](int i) {
    return !still_unacked(command, i) ||
           (*entries)[static_cast<std::size_t>(i)].metadata.compacted_out();
  };
  const auto arrival = batches_.arrived({entry.ledger, entry.entry}, count, gone);
  for (const int i : arrival.deliver) {
    const auto& e = (*entries)[static_cast<std::size_t>(i)];
    message& m = to.start();
    m.id.batch_index = i;
    m.id.batch_size = count;
    copy_fields(e.metadata, m);
    if (e.metadata.has_sequence_id()) m.sequence_id = e.metadata.sequence_id();
    m.payload.assign(e.payload.begin(), e.payload.end());
    to.finish();
  }
  if (arrival.ack_entry) out.ack = entry;
}

bool entry_decoder::gather_chunk(const wire::frame& f, const wire::message_id& entry,
                                 bytes& whole) {
  const pb::MessageMetadata& meta = *f.metadata;
  const int chunk = meta.chunk_id();
  if (chunk == 0) {
    gathering_[meta.uuid()] = {};  // a first chunk (again, after a redelivery) starts afresh
  }
  auto it = gathering_.find(meta.uuid());
  if (it == gathering_.end() || it->second.next_chunk != chunk) {
    spdlog::warn(
        "consumer on {}: chunk {} of message {} ({}) without the chunks before it; "
        "left unacknowledged",
        topic_, chunk, meta.uuid(), entry.str());
    if (it != gathering_.end()) gathering_.erase(it);
    return false;
  }
  chunk_gathering& g = it->second;
  g.payload.insert(g.payload.end(), f.payload.begin(), f.payload.end());
  g.chunks.push_back(entry);
  if (++g.next_chunk < meta.num_chunks_from_msg()) return false;
  std::vector<wire::message_id> others(g.chunks.begin(), g.chunks.end() - 1);
  bytes gathered = std::move(g.payload);
  gathering_.erase(it);
  if (meta.compression() == pb::NONE) {
    whole = std::move(gathered);
  } else {
    auto plain = wire::decompress(meta.compression(), gathered, meta.uncompressed_size());
    if (!plain) {
      spdlog::error("consumer on {}: cannot decompress chunked message {}: {}", topic_, meta.uuid(),
                    plain.error().message());
      return false;
    }
    whole = std::move(*plain);
  }
  chunked_[{entry.ledger, entry.entry}] = std::move(others);
  return true;
}

entry_decoder::acks entry_decoder::acknowledge(const wire::message_id& id) {
  // A batch's message: the entry is acked with its last message.
  if (id.batch_index >= 0 && !batches_.acknowledge({id.ledger, id.entry}, id.batch_index)) {
    return {};
  }
  acks out{.entry = id, .other_chunks = {}};
  if (auto it = chunked_.find({id.ledger, id.entry}); it != chunked_.end() && id.batch_index < 0) {
    out.other_chunks = std::move(it->second);
    chunked_.erase(it);
  }
  return out;
}

std::optional<wire::message_id> entry_decoder::acknowledge_cumulative(const wire::message_id& id) {
  wire::message_id upto = id;
  if (id.batch_index >= 0 && id.batch_index < id.batch_size - 1) {
    // Part of a batch is acked: acknowledge up to the previous entry and keep this one.
    if (id.entry == 0) return std::nullopt;
    upto.entry = id.entry - 1;
  }
  batches_.forget_through({upto.ledger, upto.entry});
  std::erase_if(chunked_,
                [&](const auto& kv) { return kv.first <= entry_key(upto.ledger, upto.entry); });
  return upto;
}

void entry_decoder::give_back(const wire::message_id& id) {
  if (id.batch_index >= 0) batches_.make_available({id.ledger, id.entry}, id.batch_index);
}

std::vector<wire::message_id> entry_decoder::chunks_of(const wire::message_id& id) const {
  if (id.batch_index >= 0) return {};
  auto it = chunked_.find({id.ledger, id.entry});
  return it == chunked_.end() ? std::vector<wire::message_id>{} : it->second;
}

}  // namespace shfn::client
