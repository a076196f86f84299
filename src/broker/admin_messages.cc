// Stored messages for the admin API (admin_messages.h): peek-messages and get-message-by-id.
#include "broker/admin_messages.h"

#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/base64.h"
#include "base/bytes.h"
#include "broker/admin_responses.h"
#include "broker/registry.h"
#include "broker/subscription.h"
#include "broker/topic.h"
#include "wire/compression.h"
#include "wire/frame.h"

namespace shfn::broker {

namespace pb = wire::pb;
using http::error_response;
using http::http_request;
using http::http_response;

namespace {

std::string text_of(const bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The X-Pulsar-* fields of a message's metadata, as Pulsar's broker writes them.
void describe(const pb::MessageMetadata& meta, std::size_t payload_size, http_response& out) {
  auto add = [&out](std::string name, std::string value) {
    out.fields.emplace_back(std::move(name), std::move(value));
  };
  if (meta.properties_size() > 0) {
    nlohmann::json properties = nlohmann::json::object();
    for (const auto& kv : meta.properties()) properties[kv.key()] = kv.value();
    add("X-Pulsar-PROPERTY", dump_json(properties));
  }
  add("X-Pulsar-publish-time", iso8601_ms(meta.publish_time()));
  if (meta.event_time() != 0) add("X-Pulsar-event-time", iso8601_ms(meta.event_time()));
  if (meta.has_deliver_at_time()) {
    add("X-Pulsar-deliver-at-time", iso8601_ms(static_cast<std::uint64_t>(meta.deliver_at_time())));
  }
  add("X-Pulsar-Is-Encrypted", meta.has_encryption_param() ? "true" : "false");
  add("X-Pulsar-producer-name", meta.producer_name());
  add("X-Pulsar-sequence-id", std::to_string(meta.sequence_id()));
  if (meta.has_highest_sequence_id()) {
    add("X-Pulsar-highest-sequence-id", std::to_string(meta.highest_sequence_id()));
  }
  if (meta.has_partition_key()) {
    add("X-Pulsar-partition-key", meta.partition_key());
    add("X-Pulsar-partition-key-b64-encoded", meta.partition_key_b64_encoded() ? "true" : "false");
  }
  if (meta.has_ordering_key()) {
    add("X-Pulsar-Base64-ordering-key", base64_encode(as_bytes(meta.ordering_key())));
  }
  add("X-Pulsar-uncompressed-size", std::to_string(payload_size));
  if (meta.has_num_messages_in_batch()) {
    add("X-Pulsar-num-batch-message", std::to_string(meta.num_messages_in_batch()));
    add("X-Pulsar-batch-size", std::to_string(payload_size));
  }
  add("X-Pulsar-txn-uncommitted", "false");
}

// One stored entry as the answer: its payload as the body (decompressed), its metadata in fields.
http_response message_at(const topic& t, std::uint64_t offset) {
  auto stored = t.read(offset, 1);
  if (!stored || stored->empty() || stored->front().offset != offset) {
    return error_response(404, "Message id not found");
  }
  auto section = wire::decode_checksummed(stored->front().data);
  if (!section) return error_response(500, "the stored entry's metadata cannot be read");
  pb::MessageMetadata& meta = section->metadata;
  const byte_view payload = section->payload;
  bytes body(payload.begin(), payload.end());
  if (meta.compression() != pb::NONE) {
    auto plain = wire::decompress(meta.compression(), payload, meta.uncompressed_size());
    if (!plain) return error_response(500, "the stored entry cannot be decompressed");
    body = std::move(*plain);
    meta.set_compression(pb::NONE);
  }
  http_response out{.status = 200, .content_type = "application/octet-stream"};
  out.fields.emplace_back("X-Pulsar-Message-ID", fmt::format("{}:{}", t.ledger_id(), offset));
  describe(meta, body.size(), out);
  out.body = text_of(body);
  return out;
}

// The n-th entry (from 1) at or after the mark-delete position that `sub` has not acknowledged.
std::optional<std::uint64_t> nth_unacked(const topic& t, const subscription& sub, std::int64_t n) {
  for (std::uint64_t offset = std::max(sub.mark_delete(), t.start_offset());
       offset < t.durable_end(); ++offset) {
    if (!sub.is_acked(offset) && --n == 0) return offset;
  }
  return std::nullopt;
}

}  // namespace

std::optional<http_response> message_routes(topic_registry& topics, const http_request& r,
                                            const std::vector<wire::topic_name>& parts) {
  const auto& p = r.path;  // admin v2 domain tenant ns topic ...
  const bool peek = p.size() == 10 && p[6] == "subscription" && p[8] == "position";
  const bool by_id = p.size() == 10 && p[6] == "ledger" && p[8] == "entry";
  if (!peek && !by_id) return std::nullopt;
  if (r.method != "GET") return method_not_allowed("GET");
  if (parts.size() != 1) {
    return error_response(parts.empty() ? 404 : 405,
                          parts.empty() ? "Topic not found" : "Not allowed on a partitioned topic");
  }
  auto t = topics.get(parts.front().str());
  if (!t) return error_response(500, t.error().message());
  const auto n = path_number<std::int64_t>(p[9]);
  if (!n || *n < 0) return error_response(400, "Invalid number: " + p[9]);
  if (by_id) {
    const auto ledger = path_number<std::int64_t>(p[7]);
    if (!ledger || *ledger != (*t)->ledger_id()) return error_response(404, "Message id not found");
    return message_at(**t, static_cast<std::uint64_t>(*n));
  }
  if (*n == 0) return error_response(412, "Invalid message position: 0");
  // As Pulsar does, peeking through a subscription that does not exist creates it, durable, at
  // the first message.
  subscription* sub = (*t)->find_subscription(p[7]);
  if (sub == nullptr) {
    auto made = (*t)->add_subscription(p[7], (*t)->start_offset());
    if (!made) return error_response(500, made.error().message());
    sub = *made;
  }
  auto offset = nth_unacked(**t, *sub, *n);
  if (!offset) return error_response(404, "No message found at position " + p[9]);
  return message_at(**t, *offset);
}

}  // namespace shfn::broker
