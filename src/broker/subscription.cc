#include "broker/subscription.h"

#include <algorithm>
#include <chrono>

#include "base/clock.h"
#include "base/log.h"
#include "broker/topic.h"
#include "wire/batch.h"
#include "wire/compression.h"
#include "wire/errc.h"
#include "wire/frame.h"
#include "wire/murmur3.h"

namespace shfn::broker {

namespace pb = wire::pb;

namespace {

constexpr std::uint32_t hash_range = 65536;  // Key_Shared hash space, as Pulsar's
constexpr int ring_points_per_consumer = 100;
constexpr std::size_t read_chunk = 100;  // entries per log read while dispatching
// Key_Shared may set entries aside while their key's consumer is busy; past this many it stops
// reading ahead so one slow consumer cannot make the broker buffer the whole topic.
constexpr std::size_t max_replay_backlog = 10000;

std::uint32_t key_hash(std::string_view key) {
  return wire::murmur3_32(key) % hash_range;
}

// The key Key_Shared routes by: the ordering key, else the partition key, else (for a batch
// without either) the key of its first message.
std::string sticky_key(const pb::MessageMetadata& meta, byte_view payload) {
  if (meta.has_ordering_key()) return meta.ordering_key();
  if (meta.has_partition_key()) return meta.partition_key();
  if (!meta.has_num_messages_in_batch()) return {};
  bytes plain;
  if (meta.compression() != pb::NONE) {
    auto unpacked = wire::decompress(meta.compression(), payload, meta.uncompressed_size());
    if (!unpacked) return {};
    plain = std::move(*unpacked);
    payload = plain;
  }
  auto messages = wire::decode_batch(payload, meta.num_messages_in_batch());
  if (!messages || messages->empty()) return {};
  const auto& first = messages->front().metadata;
  if (first.has_ordering_key()) return first.ordering_key();
  return first.partition_key();
}

}  // namespace

std::optional<std::uint64_t> offset_of(const pb::MessageIdData& id, std::int64_t ledger) {
  if (id.ledgerid() != static_cast<std::uint64_t>(ledger)) return std::nullopt;
  if (id.entryid() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  return id.entryid();
}

result<dispatch_entry> describe_entry(std::uint64_t offset, bytes data, bool with_key_hash) {
  auto section = wire::decode_checksummed(data);
  if (!section) return fail(wire::errc::bad_metadata);
  const pb::MessageMetadata& meta = section->metadata;
  dispatch_entry e{.offset = offset};
  e.messages = meta.has_num_messages_in_batch() ? std::max(1, meta.num_messages_in_batch()) : 1;
  e.batched = meta.has_num_messages_in_batch();
  e.deliver_at_ms = meta.deliver_at_time();
  if (with_key_hash) e.hash = key_hash(sticky_key(meta, section->payload));
  e.data = std::move(data);
  return e;
}

subscription::subscription(topic& owner, std::string name, sub_type type,
                           std::unique_ptr<storage::cursor_file> cursor, bool ephemeral)
    : topic_(owner),
      name_(std::move(name)),
      type_(type),
      cursor_(std::move(cursor)),
      ephemeral_(ephemeral),
      delay_timer_(owner.executor()) {
  read_position_ = cursor_ ? cursor_->state().mark_delete : topic_.end_offset();
}

subscription::~subscription() = default;

// ------------------------------------------------------------------------------ consumers

// STICKY Key_Shared consumers name their hash ranges; they must not overlap anyone's, and the
// two modes do not mix on one subscription.
bool subscription::ranges_fit(const consumer& joining) const {
  for (const auto& c : consumers_) {
    if (c->hash_ranges.empty() != joining.hash_ranges.empty()) return false;
    for (const auto& [start, end] : c->hash_ranges) {
      for (const auto& [s, e] : joining.hash_ranges) {
        if (s <= end && start <= e) return false;
      }
    }
  }
  return true;
}

result<consumer*> subscription::attach(std::unique_ptr<consumer> c, sub_type type) {
  if (!consumers_.empty()) {
    if (type != type_) return fail(wire::server_error(pb::ConsumerBusy));
    if (type_ == pb::CommandSubscribe::Exclusive) return fail(wire::server_error(pb::ConsumerBusy));
  }
  if (type == pb::CommandSubscribe::Key_Shared && !ranges_fit(*c)) {
    return fail(wire::server_error(pb::ConsumerAssignError));
  }
  type_ = type;
  consumer* previous = active_consumer();
  consumers_.push_back(std::move(c));
  consumer* added = consumers_.back().get();
  rebuild_ring();
  if (type_ == pb::CommandSubscribe::Failover) announce_active(previous, added);
  return added;
}

void subscription::welcome(consumer* c) {
  if (type_ != pb::CommandSubscribe::Failover || c->link == nullptr) return;
  c->link->send_active_consumer_change(c->id, c == active_consumer());
}

void subscription::detach(consumer* c) {
  consumer* previous = active_consumer();
  for (const auto& [offset, sent] : c->unacked) return_to_replay(offset, sent);
  c->unacked.clear();
  std::erase_if(consumers_, [c](const auto& p) { return p.get() == c; });
  rebuild_ring();
  if (type_ == pb::CommandSubscribe::Failover && previous == c) announce_active(nullptr);
  dispatch();
  release_cursor_if_idle();
}

void subscription::release_cursor_if_idle() {
  if (cursor_ && consumers_.empty()) cursor_->release();
}

void subscription::close_consumers() {
  for (const auto& c : consumers_) c->link->send_close_consumer(c->id);
}

void subscription::disconnect_all() {
  close_consumers();
  for (const auto& c : consumers_) {
    for (const auto& [offset, sent] : c->unacked) return_to_replay(offset, sent);
  }
  consumers_.clear();
  ring_.clear();
}

// Tells every consumer whether it is now the active one, when that changed.
void subscription::announce_active(consumer* previous, const consumer* joining) {
  consumer* now = active_consumer();
  if (now == previous) return;
  if (previous != nullptr) {
    // The old active consumer's unacked entries go to the new one, in order.
    for (const auto& [offset, sent] : previous->unacked) {
      release_hash(sent.hash);
      replay_.insert(offset);
    }
    previous->unacked.clear();
  }
  for (const auto& c : consumers_) {
    if (c.get() != joining) c->link->send_active_consumer_change(c->id, c.get() == now);
  }
}

bool subscription::reads_compacted() const {
  const consumer* c = active_consumer();
  return c != nullptr && c->reads_compacted;
}

consumer* subscription::active_consumer() const {
  if (consumers_.empty()) return nullptr;
  if (type_ != pb::CommandSubscribe::Failover || topic_.partition() < 0) {
    return consumers_.front().get();
  }
  std::vector<consumer*> by_name;
  for (const auto& c : consumers_) by_name.push_back(c.get());
  std::ranges::stable_sort(by_name, {}, &consumer::name);
  return by_name[static_cast<std::size_t>(topic_.partition()) % by_name.size()];
}

void subscription::rebuild_ring() {
  ring_.clear();
  if (type_ != pb::CommandSubscribe::Key_Shared) return;
  for (const auto& c : consumers_) {
    if (!c->hash_ranges.empty()) continue;  // STICKY consumers own only what they claimed
    for (int i = 0; i < ring_points_per_consumer; ++i) {
      const std::string point = c->name + "#" + std::to_string(c->id) + "#" + std::to_string(i);
      ring_.emplace(key_hash(point), c.get());
    }
  }
}

consumer* subscription::key_owner(std::uint32_t hash) const {
  for (const auto& c : consumers_) {  // STICKY: whoever claimed the range, else nobody yet
    for (const auto& [start, end] : c->hash_ranges) {
      if (start <= hash && hash <= end) return c.get();
    }
  }
  if (ring_.empty()) return nullptr;
  auto it = ring_.lower_bound(hash);
  return it != ring_.end() ? it->second : ring_.begin()->second;
}

// ------------------------------------------------------------------------------ flow and acks

void subscription::flow(consumer* c, std::uint32_t permits) {
  c->permits += permits;
  dispatch();
}

void subscription::acknowledge(consumer* c, const pb::CommandAck& ack) {
  record_acks(c, ack);
  // Key_Shared: an acked entry may release its key for another consumer.
  dispatch();
}

void subscription::record_acks(consumer* c, const pb::CommandAck& ack) {
  const bool cumulative = ack.ack_type() == pb::CommandAck::Cumulative;
  std::vector<std::uint64_t> individual;
  for (const auto& id : ack.message_id()) {
    const auto entry = offset_of(id, topic_.ledger_id());
    if (!entry) continue;
    // A partial batch ack (some bits still set) does not settle the entry.
    const bool partial = std::ranges::any_of(id.ack_set(), [](std::int64_t w) { return w != 0; });
    if (partial && !cumulative) continue;
    const std::uint64_t offset = *entry;
    if (!cumulative) {
      individual.push_back(offset);
      continue;
    }
    if (cursor_) {
      if (auto ok = cursor_->ack_cumulative(offset); !ok) {
        spdlog::error("subscription {} on {}: cannot record ack: {}", name_, topic_.name(),
                      ok.error().message());
      }
    }
    while (!c->unacked.empty() && c->unacked.begin()->first <= offset) {
      release_hash(c->unacked.begin()->second.hash);
      c->unacked.erase(c->unacked.begin());
    }
    std::erase_if(replay_, [offset](std::uint64_t o) { return o <= offset; });
  }
  if (individual.empty()) return;
  if (cursor_) {
    if (auto ok = journal_individual_acks(individual); !ok) {
      spdlog::error("subscription {} on {}: cannot record ack: {}", name_, topic_.name(),
                    ok.error().message());
    }
  }
  for (const std::uint64_t offset : individual) {
    if (auto sent = c->unacked.find(offset); sent != c->unacked.end()) {
      release_hash(sent->second.hash);
      c->unacked.erase(sent);
    }
    replay_.erase(offset);
    redelivery_counts_.erase(offset);
    ++c->acks_in;
  }
}

// The offsets one ACK command settles, as one journal record: a client acking many messages at
// once costs one write(2), not one per message.
result<void> subscription::journal_individual_acks(std::vector<std::uint64_t> offsets) {
  if (offsets.size() == 1) return cursor_->ack(offsets.front());
  std::ranges::sort(offsets);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // half-open
  for (const std::uint64_t offset : offsets) {
    if (!ranges.empty() && offset <= ranges.back().second) {
      ranges.back().second = std::max(ranges.back().second, offset + 1);
    } else {
      ranges.emplace_back(offset, offset + 1);
    }
  }
  return cursor_->ack_ranges(ranges);
}

void subscription::redeliver(consumer* c, const std::vector<std::uint64_t>& offsets) {
  if (offsets.empty()) {
    for (const auto& [offset, sent] : c->unacked) return_to_replay(offset, sent);
    c->unacked.clear();
  }
  for (std::uint64_t offset : offsets) {
    if (auto sent = c->unacked.find(offset); sent != c->unacked.end()) {
      return_to_replay(offset, sent->second);
      c->unacked.erase(sent);
    }
  }
  dispatch();
}

void subscription::return_to_replay(std::uint64_t offset, const consumer::in_flight& sent) {
  release_hash(sent.hash);
  replay_.insert(offset);
  ++redelivery_counts_[offset];
}

void subscription::release_hash(std::uint32_t hash) {
  auto owner = hash_owner_.find(hash);
  if (owner != hash_owner_.end() && --owner->second.second <= 0) hash_owner_.erase(owner);
}

result<void> subscription::seek(std::uint64_t offset) {
  if (!cursor_) return fail(wire::server_error(pb::NotAllowedError));
  // As low as any reader can go (a compacted view may hold what the log trimmed): a consumer
  // that does not read compacted is moved up to the log's start when it reads.
  offset = std::clamp(offset, topic_.start_offset(/*compacted=*/true), topic_.end_offset());
  if (auto ok = cursor_->reset(offset); !ok) return fail(ok.error());
  for (const auto& c : consumers_) c->unacked.clear();
  hash_owner_.clear();
  replay_.clear();
  delayed_.clear();
  redelivery_counts_.clear();
  read_position_ = offset;
  // As Pulsar does: the consumers are closed and subscribe again from the new position (their
  // clients drop what they had queued).
  close_consumers();
  consumers_.clear();
  ring_.clear();
  release_cursor_if_idle();
  return {};
}

result<void> subscription::skip_to(std::uint64_t offset) {
  if (!cursor_) return fail(wire::server_error(pb::NotAllowedError));
  offset = std::min(offset, topic_.durable_end());
  if (offset <= mark_delete()) return {};
  if (auto ok = cursor_->ack_cumulative(offset - 1); !ok) return fail(ok.error());
  for (const auto& c : consumers_) {
    while (!c->unacked.empty() && c->unacked.begin()->first < offset) {
      release_hash(c->unacked.begin()->second.hash);
      c->unacked.erase(c->unacked.begin());
    }
  }
  std::erase_if(replay_, [offset](std::uint64_t o) { return o < offset; });
  std::erase_if(delayed_, [offset](const auto& held) { return held.second < offset; });
  std::erase_if(redelivery_counts_, [offset](const auto& count) { return count.first < offset; });
  read_position_ = std::max(read_position_, offset);
  dispatch();
  return {};
}

// ------------------------------------------------------------------------------ dispatch

void subscription::dispatch() {
  // Sending can call back into us (a link fails and detaches); run passes, never nested.
  if (dispatching_) {
    dispatch_again_ = true;
    return;
  }
  dispatching_ = true;
  do {
    dispatch_again_ = false;
    if (!cursor_) break;                  // non-persistent: entries are offered as they come
    std::set<std::uint32_t> held_hashes;  // Key_Shared: keys that must wait this pass
    dispatch_replays(held_hashes);
    dispatch_new(held_hashes);
  } while (dispatch_again_);
  dispatching_ = false;
  if (topic_.terminated() && read_position_ >= topic_.durable_end() && backlog() == 0) {
    tell_end_of_topic();
  }
}

// As Pulsar tells them: once the topic is terminated and everything in it was acknowledged
// (checked when the topic is terminated, and after each dispatch and acknowledgement).
void subscription::tell_end_of_topic() {
  for (auto& c : consumers_) {
    if (c->told_end_of_topic || c->link == nullptr) continue;
    c->told_end_of_topic = true;
    c->link->send_reached_end_of_topic(c->id);
  }
}

void subscription::dispatch_replays(std::set<std::uint32_t>& held_hashes) {
  for (auto it = replay_.begin(); it != replay_.end() && usable_permits() > 0;) {
    const std::uint64_t offset = *it;
    if (offset < topic_.start_offset(reads_compacted()) || is_acked(offset)) {
      it = replay_.erase(it);
      continue;
    }
    auto entries = topic_.read(offset, 1, reads_compacted());
    if (!entries || entries->empty() || entries->front().offset != offset) {
      it = replay_.erase(it);
      continue;
    }
    auto e = describe_entry(offset, std::move(entries->front().data), wants_key_hash());
    if (!e) {
      it = replay_.erase(it);
      continue;
    }
    consumer* c = choose(*e, held_hashes);
    if (c == nullptr) {
      ++it;
      continue;
    }
    it = replay_.erase(it);
    send(c, *e);
  }
}

void subscription::dispatch_new(std::set<std::uint32_t>& held_hashes) {
  const bool compacted = reads_compacted();
  read_position_ = std::max(read_position_, topic_.start_offset(compacted));
  while (usable_permits() > 0 && read_position_ < topic_.durable_end() &&
         replay_.size() < max_replay_backlog) {
    // Read no further ahead than the permits reach, judging by the entries' recent size (a
    // batch takes as many permits as it has messages), so nothing read is thrown away.
    const std::size_t reach = usable_permits() / std::max<std::size_t>(1, average_batch_);
    auto entries =
        topic_.read(read_position_, std::clamp<std::size_t>(reach, 1, read_chunk), compacted);
    if (!entries || entries->empty()) {
      if (!entries) {
        spdlog::error("subscription {} on {}: read at {} failed: {}", name_, topic_.name(),
                      read_position_, entries.error().message());
      }
      return;
    }
    for (auto& stored : *entries) {
      const std::uint64_t offset = stored.offset;
      if (is_acked(offset)) {
        read_position_ = offset + 1;
        continue;
      }
      auto e = describe_entry(offset, std::move(stored.data), wants_key_hash());
      if (!e) {
        spdlog::error("subscription {} on {}: entry {} has unreadable metadata; skipped", name_,
                      topic_.name(), offset);
        read_position_ = offset + 1;
        continue;
      }
      if (e->deliver_at_ms > 0 && delays_delivery() && e->deliver_at_ms > now_ms()) {
        set_aside(offset, e->deliver_at_ms);
        read_position_ = offset + 1;
        continue;
      }
      consumer* c = choose(*e, held_hashes);
      if (c == nullptr) {
        if (type_ != pb::CommandSubscribe::Key_Shared) return;
        replay_.insert(offset);  // its key's consumer is busy; others may go on
        read_position_ = offset + 1;
        continue;
      }
      send(c, *e);
      read_position_ = offset + 1;
      if (usable_permits() == 0) return;
    }
  }
}

bool subscription::delays_delivery() const {
  return type_ == pb::CommandSubscribe::Shared || type_ == pb::CommandSubscribe::Key_Shared;
}

void subscription::set_aside(std::uint64_t offset, std::int64_t deliver_at_ms) {
  delayed_.emplace(deliver_at_ms, offset);
  arm_delay_timer();
}

// One timer for the earliest message set aside. The handler finds the subscription again by
// name through its topic: the subscription may be gone (or replaced) when the timer fires.
void subscription::arm_delay_timer() {
  if (delayed_.empty()) return;
  const std::int64_t due = delayed_.begin()->first;
  if (delay_timer_at_ != 0 && delay_timer_at_ <= due) return;
  delay_timer_at_ = due;
  delay_timer_.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, due - now_ms())));
  delay_timer_.async_wait([owner = topic_.weak_from_this(), name = name_](std::error_code ec) {
    if (ec) return;
    auto t = owner.lock();
    if (auto* sub = t ? t->find_subscription(name) : nullptr) sub->release_due();
  });
}

// Messages whose time has come join the replay set (without a redelivery: they were never
// delivered) and go out before new entries.
void subscription::release_due() {
  delay_timer_at_ = 0;
  const std::int64_t now = now_ms();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    replay_.insert(delayed_.begin()->second);
    delayed_.erase(delayed_.begin());
  }
  arm_delay_timer();
  dispatch();
}

// Permits the consumers that can be sent to right now have left (the active one for Exclusive
// and Failover, everyone otherwise); a consumer overdrawn by a batch counts as zero.
std::size_t subscription::usable_permits() const {
  auto usable = [](const consumer* c) {
    return c != nullptr ? static_cast<std::size_t>(std::max<std::int64_t>(0, c->permits)) : 0;
  };
  if (type_ == pb::CommandSubscribe::Exclusive || type_ == pb::CommandSubscribe::Failover) {
    return usable(active_consumer());
  }
  std::size_t total = 0;
  for (const auto& c : consumers_) total += usable(c.get());
  return total;
}

consumer* subscription::choose(const dispatch_entry& e, std::set<std::uint32_t>& held_hashes) {
  switch (type_) {
    case pb::CommandSubscribe::Exclusive:
    case pb::CommandSubscribe::Failover: {
      consumer* c = active_consumer();
      return c != nullptr && c->permits > 0 ? c : nullptr;
    }
    case pb::CommandSubscribe::Shared:
      return next_shared();
    case pb::CommandSubscribe::Key_Shared: {
      consumer* owner = key_owner(e.hash);
      auto busy = hash_owner_.find(e.hash);
      const bool draining_elsewhere = busy != hash_owner_.end() && busy->second.first != owner;
      if (owner == nullptr || owner->permits <= 0 || draining_elsewhere ||
          held_hashes.contains(e.hash)) {
        held_hashes.insert(e.hash);  // later entries of this key wait too, to keep order
        return nullptr;
      }
      return owner;
    }
  }
  return nullptr;
}

consumer* subscription::next_shared() {
  for (std::size_t tried = 0; tried < consumers_.size(); ++tried) {
    consumer* c = consumers_[round_robin_++ % consumers_.size()].get();
    if (c->permits > 0) return c;
  }
  return nullptr;
}

void subscription::send(consumer* c, dispatch_entry& e) {
  // An exponential moving average, 1/8 weight to the newest entry.
  average_batch_ = (average_batch_ * 7 + static_cast<std::size_t>(e.messages) + 7) / 8;
  c->permits -= e.messages;
  c->messages_out += static_cast<std::uint64_t>(e.messages);
  messages_out_ += static_cast<std::uint64_t>(e.messages);
  c->bytes_out += e.data.size();
  bytes_out_ += e.data.size();
  c->unacked[e.offset] = {.messages = e.messages, .hash = e.hash};
  auto& owner = hash_owner_[e.hash];
  owner.first = c;
  ++owner.second;
  auto count = redelivery_counts_.find(e.offset);
  const std::uint32_t redeliveries = count == redelivery_counts_.end() ? 0 : count->second;
  const wire::message_id id{.ledger = topic_.ledger_id(),
                            .entry = static_cast<std::int64_t>(e.offset),
                            .partition = topic_.partition()};
  c->link->send_message(c->id, id, redeliveries, std::move(e.data));
}

void subscription::offer_transient(const dispatch_entry& e) {
  std::set<std::uint32_t> held;
  consumer* c = choose(e, held);
  if (c == nullptr) return;  // non-persistent: nobody ready, the message is dropped
  c->permits -= e.messages;
  c->messages_out += static_cast<std::uint64_t>(e.messages);
  messages_out_ += static_cast<std::uint64_t>(e.messages);
  c->bytes_out += e.data.size();
  bytes_out_ += e.data.size();
  const wire::message_id id{.ledger = topic_.ledger_id(),
                            .entry = static_cast<std::int64_t>(e.offset),
                            .partition = topic_.partition()};
  c->link->send_message(c->id, id, 0, e.data);  // a copy: other subscriptions get it too
}

bool subscription::is_acked(std::uint64_t offset) const {
  if (!cursor_) return false;
  const auto& s = cursor_->state();
  return offset < s.mark_delete || s.acked.contains(offset);
}

// ------------------------------------------------------------------------------ stats

std::vector<std::pair<std::uint64_t, std::uint64_t>> subscription::acked_ranges() const {
  if (!cursor_) return {};
  const auto& acked = cursor_->state().acked;
  return {acked.begin(), acked.end()};
}

std::uint64_t subscription::mark_delete() const {
  return cursor_ ? cursor_->state().mark_delete : topic_.end_offset();
}

std::uint64_t subscription::backlog() const {
  if (!cursor_) return 0;
  const auto& s = cursor_->state();
  const std::uint64_t end = topic_.durable_end();
  const std::uint64_t from = std::max(s.mark_delete, topic_.start_offset());
  if (end <= from) return 0;
  return end - from - std::min<std::uint64_t>(s.acked.size(), end - from);
}

std::uint64_t subscription::unacked_messages() const {
  std::uint64_t n = 0;
  for (const auto& c : consumers_) {
    for (const auto& [offset, sent] : c->unacked) {
      (void)offset;
      n += static_cast<std::uint64_t>(sent.messages);
    }
  }
  return n;
}

}  // namespace shfn::broker
