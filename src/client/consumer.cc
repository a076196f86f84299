#include "client/consumer.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "base/log.h"
#include "client/client.h"
#include "client/errc.h"
#include "client/producer.h"
#include "client/reconnect.h"
#include "wire/batch.h"
#include "wire/compression.h"
#include "wire/topic_name.h"

namespace shfn::client {

namespace pb = wire::pb;
using asio::awaitable;

namespace {

pb::CommandSubscribe::SubType to_pb(subscription_type t) {
  switch (t) {
    case subscription_type::exclusive:
      return pb::CommandSubscribe::Exclusive;
    case subscription_type::shared:
      return pb::CommandSubscribe::Shared;
    case subscription_type::failover:
      return pb::CommandSubscribe::Failover;
    case subscription_type::key_shared:
      return pb::CommandSubscribe::Key_Shared;
  }
  return pb::CommandSubscribe::Exclusive;
}

bool selective_redelivery(subscription_type t) {
  return t == subscription_type::shared || t == subscription_type::key_shared;
}

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

// ---------------------------------------------------------------------------------------------
// partition_consumer

partition_consumer::partition_consumer(client& owner_client, consumer& owner, std::string topic,
                                       int partition, const consumer_options& options)
    : client_(owner_client),
      owner_(owner),
      topic_(std::move(topic)),
      partition_(partition),
      options_(options),
      consumer_id_(owner_client.next_consumer_id()),
      permits_(options.receiver_queue_size),
      backoff_(owner_client.options().initial_backoff, owner_client.options().max_backoff) {}

partition_consumer::~partition_consumer() {
  if (conn_) conn_->detach_consumer(consumer_id_);
}

awaitable<result<void>> partition_consumer::start() {
  const auto deadline = clock::now() + client_.options().operation_timeout;
  while (true) {
    auto ok = co_await subscribe_once();
    if (ok) break;
    // One draw per attempt: the delay checked against the deadline is the one slept.
    const auto delay = backoff_.next();
    if (!is_retriable(ok.error()) || clock::now() + delay >= deadline) {
      co_return fail(ok.error());
    }
    spdlog::debug("consumer on {}: {}; retrying", topic_, ok.error().message());
    co_await sleep_for(delay);
  }
  backoff_.reset();
  asio::co_spawn(
      client_.executor(),
      [](partition_consumer* self, gate::holder) -> awaitable<void> {
        co_await self->reconnect_loop();
      }(this, gate_.enter()),
      asio::detached);
  co_return result<void>{};
}

awaitable<result<void>> partition_consumer::subscribe_once() {
  auto conn = co_await client_.pool().connection_for(topic_);
  if (!conn) co_return fail(conn.error());
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::SUBSCRIBE);
  const std::uint64_t request_id = (*conn)->next_request_id();
  auto* s = c.mutable_subscribe();
  s->set_topic(topic_);
  s->set_subscription(options_.subscription);
  s->set_subtype(to_pb(options_.type));
  s->set_consumer_id(consumer_id_);
  s->set_request_id(request_id);
  if (!options_.name.empty()) s->set_consumer_name(options_.name);
  s->set_initialposition(options_.position == initial_position::earliest
                             ? pb::CommandSubscribe::Earliest
                             : pb::CommandSubscribe::Latest);
  if (options_.type == subscription_type::key_shared) {
    s->mutable_keysharedmeta()->set_keysharedmode(pb::AUTO_SPLIT);
  }
  (*conn)->attach_consumer(consumer_id_, this);
  auto response = co_await (*conn)->request(c, request_id);
  if (!response) {
    (*conn)->detach_consumer(consumer_id_);
    co_return fail(response.error());
  }
  if (closing_) co_return fail(errc::closed);
  conn_ = std::move(*conn);
  permits_.reset();
  grant_permits(options_.receiver_queue_size);
  co_return result<void>{};
}

awaitable<void> partition_consumer::reconnect_loop() {
  const reconnect_state state{closing_, conn_, wake_, backoff_};
  co_await keep_connected(
      state, [this] { return subscribe_once(); },
      [this](const result<void>& outcome) {
        if (outcome) {
          spdlog::info("consumer on {}: resubscribed", topic_);
        } else {
          spdlog::warn("consumer on {}: resubscribe failed: {}", topic_, outcome.error().message());
        }
      });
}

void partition_consumer::grant_permits(int count) {
  if (!conn_ || count <= 0) return;
  permits_.granted(count);
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::FLOW);
  c.mutable_flow()->set_consumer_id(consumer_id_);
  c.mutable_flow()->set_messagepermits(static_cast<std::uint32_t>(count));
  conn_->send(c);
}

// When the permits go back: permit_window (batch_tracker.h).
bool partition_consumer::consumed(int count) {
  const int grant = permits_.consumed(count);
  grant_permits(grant);
  return grant > 0;
}

void partition_consumer::on_frame(const wire::frame& f) {
  switch (f.command.type()) {
    case pb::BaseCommand::MESSAGE:
      return handle_message(f);
    case pb::BaseCommand::ACTIVE_CONSUMER_CHANGE:
      spdlog::debug("consumer on {}: active={}", topic_,
                    f.command.active_consumer_change().is_active());
      return;
    case pb::BaseCommand::REACHED_END_OF_TOPIC:
      spdlog::info("consumer on {}: reached the end of a terminated topic", topic_);
      return;
    default:
      return;
  }
}

// Messages are built straight into the consumer's queue (no intermediate copies or moves) from
// views of the frame: the payload is only copied once, into each message's own bytes.
void partition_consumer::handle_message(const wire::frame& f) {
  const auto& command = f.command.message();
  // What the broker charged for this entry: a batch takes as many permits as it has messages.
  permits_.entry_arrived(f.metadata && f.metadata->has_num_messages_in_batch()
                             ? std::max(1, f.metadata->num_messages_in_batch())
                             : 1);
  if (!f.metadata) {
    spdlog::warn("consumer on {}: message without metadata dropped", topic_);
    consumed(1);
    return;
  }
  const pb::MessageMetadata& meta = *f.metadata;
  wire::message_id entry = wire::message_id::from_pb(command.message_id());
  entry.partition = partition_;
  entry.batch_index = -1;
  byte_view body = f.payload;
  bytes unpacked;
  if (meta.num_chunks_from_msg() > 1) {
    if (!gather_chunk(f, entry, unpacked)) {
      consumed(1);  // nothing to deliver yet: the permit goes back
      return;
    }
    body = unpacked;
  } else if (meta.compression() != pb::NONE) {
    auto plain = wire::decompress(meta.compression(), f.payload, meta.uncompressed_size());
    if (!plain) {
      spdlog::error("consumer on {}: cannot decompress message: {}", topic_,
                    plain.error().message());
      consumed(1);
      return;
    }
    unpacked = std::move(*plain);
    body = unpacked;
  }
  const std::uint32_t redelivery_count = command.redelivery_count();
  // The whole entry shares its redelivery count, so it goes to the dead-letter topic as a whole.
  const bool to_dead_letter =
      options_.max_redeliver_count > 0 &&
      redelivery_count > static_cast<std::uint32_t>(options_.max_redeliver_count);

  message dead;  // dead letters are rare: they are built here and moved
  auto start_message = [&]() -> message& {
    message& m = to_dead_letter ? (dead = message{}) : owner_.emplace_incoming();
    m.id = entry;
    m.topic = topic_;
    m.producer_name = meta.producer_name();
    m.sequence_id = meta.sequence_id();
    m.publish_time = meta.publish_time();
    m.redelivery_count = redelivery_count;
    return m;
  };
  auto finish_message = [&](message& m) {
    if (!to_dead_letter) return;
    owner_.dead_letter(std::move(m));
    consumed(1);
  };

  if (!meta.has_num_messages_in_batch()) {
    message& m = start_message();
    copy_fields(meta, m);
    if (unpacked.empty()) {
      m.payload.assign(body.begin(), body.end());
    } else {
      m.payload = std::move(unpacked);
    }
    finish_message(m);
    if (!to_dead_letter) owner_.arrived();
    return;
  }
  auto entries = wire::decode_batch(body, meta.num_messages_in_batch(), batch_scratch_);
  if (!entries) {
    spdlog::error("consumer on {}: malformed batch {}: {}", topic_, entry.str(),
                  entries.error().message());
    consumed(1);
    return;
  }
  const int count = static_cast<int>(entries->size());
  const auto gone = [&](int i) {
    return !still_unacked(command, i) ||
           (*entries)[static_cast<std::size_t>(i)].metadata.compacted_out();
  };
  const auto arrival = batches_.arrived({entry.ledger, entry.entry}, count, gone);
  for (const int i : arrival.deliver) {
    const auto& e = (*entries)[static_cast<std::size_t>(i)];
    message& m = start_message();
    m.id.batch_index = i;
    m.id.batch_size = count;
    copy_fields(e.metadata, m);
    if (e.metadata.has_sequence_id()) m.sequence_id = e.metadata.sequence_id();
    m.payload.assign(e.payload.begin(), e.payload.end());
    finish_message(m);
  }
  if (arrival.ack_entry) queue_ack(entry);
  if (!arrival.deliver.empty() && !to_dead_letter) owner_.arrived();
  if (arrival.skipped > 0) consumed(arrival.skipped);
}

bool partition_consumer::gather_chunk(const wire::frame& f, const wire::message_id& entry,
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

std::vector<wire::message_id> partition_consumer::chunks_of(const wire::message_id& id) const {
  if (id.batch_index >= 0) return {};
  auto it = chunked_.find({id.ledger, id.entry});
  return it == chunked_.end() ? std::vector<wire::message_id>{} : it->second;
}

void partition_consumer::make_available(const wire::message_id& id) {
  if (id.batch_index >= 0) batches_.make_available({id.ledger, id.entry}, id.batch_index);
}

void partition_consumer::acknowledge(const wire::message_id& id) {
  // A batch's message: the entry is acked with its last message.
  if (id.batch_index >= 0 && !batches_.acknowledge({id.ledger, id.entry}, id.batch_index)) return;
  for (const auto& chunk : chunks_of(id)) queue_ack(chunk);
  chunked_.erase({id.ledger, id.entry});
  queue_ack(id);
}

void partition_consumer::acknowledge_cumulative(const wire::message_id& id) {
  wire::message_id upto = id;
  if (id.batch_index >= 0 && id.batch_index < id.batch_size - 1) {
    // Part of a batch is acked: acknowledge up to the previous entry and keep this one.
    if (id.entry == 0) return;
    upto.entry = id.entry - 1;
  }
  batches_.forget_through({upto.ledger, upto.entry});
  std::erase_if(chunked_,
                [&](const auto& kv) { return kv.first <= std::pair(upto.ledger, upto.entry); });
  if (!conn_) return;
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::ACK);
  c.mutable_ack()->set_consumer_id(consumer_id_);
  c.mutable_ack()->set_ack_type(pb::CommandAck::Cumulative);
  upto.to_pb(*c.mutable_ack()->add_message_id());
  conn_->send(c);
}

void partition_consumer::queue_ack(const wire::message_id& entry) {
  pending_acks_.push_back(entry);
  if (ack_flush_scheduled_) return;
  ack_flush_scheduled_ = true;
  // Everything acked during this turn of the event loop goes out in one ACK command.
  asio::post(client_.executor(),
             [this, holder = std::make_shared<gate::holder>(gate_.enter())] { flush_acks(); });
}

void partition_consumer::flush_acks() {
  ack_flush_scheduled_ = false;
  if (pending_acks_.empty() || !conn_) {
    pending_acks_.clear();
    return;
  }
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::ACK);
  c.mutable_ack()->set_consumer_id(consumer_id_);
  c.mutable_ack()->set_ack_type(pb::CommandAck::Individual);
  for (const auto& id : pending_acks_) id.to_pb(*c.mutable_ack()->add_message_id());
  pending_acks_.clear();
  conn_->send(c);
}

void partition_consumer::redeliver(const std::vector<wire::message_id>& ids) {
  for (const auto& id : ids) make_available(id);
  if (!conn_) return;  // the resubscribe will redeliver everything unacked anyway
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::REDELIVER_UNACKNOWLEDGED_MESSAGES);
  auto* r = c.mutable_redeliverunacknowledgedmessages();
  r->set_consumer_id(consumer_id_);
  if (selective_redelivery(options_.type)) {
    std::set<std::pair<std::int64_t, std::int64_t>> entries;
    auto add = [&](const wire::message_id& id) {
      if (entries.insert({id.ledger, id.entry}).second) id.to_pb(*r->add_message_ids());
    };
    for (const auto& id : ids) {
      for (const auto& chunk : chunks_of(id)) add(chunk);  // a chunked message comes back whole
      add(id);
    }
  } else {
    // The broker redelivers everything unacked for these types; what we hold locally would be
    // duplicated, so drop it and hand its permits back.
    const auto dropped = owner_.drop_queued(partition_);
    for (const auto& id : dropped) make_available(id);
    grant_permits(static_cast<int>(dropped.size()));
  }
  conn_->send(c);
}

void partition_consumer::reset_local_state() {
  // batches_ stays: the broker sends the entries again, and only what is available of them is
  // delivered (what the application holds, it still acks or gives back).
  pending_acks_.clear();
  gathering_.clear();  // the broker sends the unacked chunks again, from the first
  for (const auto& id : owner_.drop_queued(partition_)) make_available(id);
}

void partition_consumer::on_disconnected() {
  if (conn_) spdlog::info("consumer on {}: disconnected; will resubscribe", topic_);
  conn_.reset();
  reset_local_state();
  wake_.notify_all();
}

awaitable<result<void>> partition_consumer::unsubscribe() {
  if (!conn_) co_return fail(errc::connection_closed);
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::UNSUBSCRIBE);
  const std::uint64_t request_id = conn_->next_request_id();
  c.mutable_unsubscribe()->set_consumer_id(consumer_id_);
  c.mutable_unsubscribe()->set_request_id(request_id);
  auto conn = conn_;
  auto r = co_await conn->request(c, request_id);
  if (!r) co_return fail(r.error());
  co_return result<void>{};
}

awaitable<void> partition_consumer::close() {
  if (closing_) co_return;
  closing_ = true;
  flush_acks();
  if (conn_) {
    pb::BaseCommand c;
    c.set_type(pb::BaseCommand::CLOSE_CONSUMER);
    const std::uint64_t request_id = conn_->next_request_id();
    c.mutable_close_consumer()->set_consumer_id(consumer_id_);
    c.mutable_close_consumer()->set_request_id(request_id);
    auto conn = conn_;
    (void)co_await conn->request(c, request_id);
    conn->detach_consumer(consumer_id_);
    conn_.reset();
  }
  wake_.notify_all();
  co_await gate_.close();
}

// ---------------------------------------------------------------------------------------------
// consumer

consumer::consumer(client& owner, consumer_options options, int partitions)
    : client_(owner), options_(std::move(options)) {
  if (partitions == 0) {
    parts_.push_back(
        std::make_unique<partition_consumer>(client_, *this, options_.topic, -1, options_));
  }
  auto base = wire::parse_topic_name(options_.topic);
  for (int i = 0; i < partitions; ++i) {
    parts_.push_back(std::make_unique<partition_consumer>(
        client_, *this, base->partition_of(i).str(), i, options_));
  }
}

consumer::~consumer() = default;

awaitable<result<void>> consumer::start() {
  for (auto& p : parts_) {
    if (auto ok = co_await p->start(); !ok) {
      co_await close();
      co_return fail(ok.error());
    }
  }
  asio::co_spawn(
      client_.executor(),
      [](consumer* self, gate::holder) -> awaitable<void> { co_await self->redelivery_loop(); }(
                                           this, gate_.enter()),
      asio::detached);
  if (options_.max_redeliver_count > 0) {
    asio::co_spawn(
        client_.executor(),
        [](consumer* self, gate::holder) -> awaitable<void> { co_await self->dead_letter_loop(); }(
                                             this, gate_.enter()),
        asio::detached);
  }
  co_return result<void>{};
}

partition_consumer& consumer::part_of(const wire::message_id& id) {
  return *parts_[id.partition < 0 ? 0 : static_cast<std::size_t>(id.partition)];
}

void consumer::dead_letter(message m) {
  dead_letters_.push_back(std::move(m));
  dead_letter_arrived_.notify_all();
}

std::vector<wire::message_id> consumer::drop_queued(int partition) {
  std::vector<wire::message_id> dropped;
  incoming_.erase_if([&](const message& m) {
    if (m.id.partition != partition) return false;
    dropped.push_back(m.id);
    return true;
  });
  return dropped;
}

awaitable<result<message>> consumer::receive(clock::time_point deadline) {
  if (std::exchange(flow_queued_, false)) {
    // The previous receive() queued a FLOW on the connection. An application that receives in
    // a tight loop does not suspend while messages are queued, so without a turn of the event
    // loop here the FLOW (and the acks made since) would only be written once the queue ran
    // dry: the broker's next entry would then always arrive a round trip late, and the
    // receiver queue would never hold more than the entry being worked through.
    co_await yield_now();
  }
  while (incoming_.empty()) {
    if (closed_) co_return fail(errc::closed);
    if (std::exchange(interrupted_, false)) co_return fail(errc::interrupted);
    const bool woken = co_await arrived_.wait_until(deadline);
    if (!woken && incoming_.empty()) co_return fail(errc::timeout);
  }
  message& m = incoming_.front();
  flow_queued_ = part_of(m.id).message_consumed();
  if (options_.ack_timeout.count() > 0) {
    unacked_since_[m.id] = clock::now();
    redelivery_changed_.notify_all();
  }
  // The message moves from the queue straight into the result; its slot is freed after that
  // (co_return hands the value over before locals are destroyed), saving a move per message.
  struct pop_on_exit {
    message_queue& queue;
    ~pop_on_exit() { queue.pop_front(); }
  } pop{incoming_};
  co_return std::move(m);
}

void consumer::acknowledge(const message& m) {
  if (!unacked_since_.empty()) unacked_since_.erase(m.id);
  part_of(m.id).acknowledge(m.id);
}

void consumer::acknowledge_cumulative(const message& m) {
  std::erase_if(unacked_since_, [&](const auto& kv) {
    return kv.first.partition == m.id.partition && kv.first <= m.id;
  });
  part_of(m.id).acknowledge_cumulative(m.id);
}

void consumer::negative_acknowledge(const message& m) {
  negative_acknowledge(m, options_.negative_ack_delay);
}

void consumer::negative_acknowledge(const message& m, std::chrono::milliseconds delay) {
  unacked_since_.erase(m.id);
  redeliver_at_.emplace_back(clock::now() + delay, m.id);
  redelivery_changed_.notify_all();
}

awaitable<void> consumer::redelivery_loop() {
  while (!closed_) {
    auto next = clock::now() + std::chrono::seconds(1);
    for (const auto& [when, id] : redeliver_at_) next = std::min(next, when);
    for (const auto& [id, since] : unacked_since_)
      next = std::min(next, since + options_.ack_timeout);
    co_await redelivery_changed_.wait_until(next);
    if (closed_) break;

    const auto now = clock::now();
    std::map<int, std::vector<wire::message_id>> due;
    std::erase_if(redeliver_at_, [&](const auto& entry) {
      if (entry.first > now) return false;
      due[entry.second.partition].push_back(entry.second);
      return true;
    });
    std::erase_if(unacked_since_, [&](const auto& kv) {
      if (kv.second + options_.ack_timeout > now) return false;
      due[kv.first.partition].push_back(kv.first);
      return true;
    });
    for (const auto& [partition, ids] : due) part_of(ids.front()).redeliver(ids);
  }
}

awaitable<void> consumer::dead_letter_loop() {
  std::string topic = options_.dead_letter_topic;
  if (topic.empty()) topic = options_.topic + "-" + options_.subscription + "-DLQ";
  while (!closed_) {
    if (dead_letters_.empty()) {
      co_await dead_letter_arrived_.wait();
      continue;
    }
    if (!dead_letter_producer_) {
      const producer_options dlq_options{.topic = topic};
      auto p = co_await client_.create_producer(dlq_options);
      if (!p) {
        spdlog::error("dead-letter producer for {}: {}", topic, p.error().message());
        co_await sleep_for(std::chrono::seconds(1));
        continue;
      }
      dead_letter_producer_ = std::move(*p);
    }
    message m = std::move(dead_letters_.front());
    dead_letters_.pop_front();
    outgoing_message out{
        .payload = m.payload, .key = m.key, .properties = m.properties, .event_time = m.event_time};
    out.properties.emplace_back("REAL_TOPIC", m.topic);
    out.properties.emplace_back("ORIGIN_MESSAGE_ID", m.id.str());
    auto sent = co_await dead_letter_producer_->send(std::move(out));
    if (sent) {
      part_of(m.id).acknowledge(m.id);
    } else {
      spdlog::error("dead-letter publish of {} failed: {}; it will be redelivered", m.id.str(),
                    sent.error().message());
    }
  }
}

awaitable<result<void>> consumer::unsubscribe() {
  for (auto& p : parts_) {
    if (auto ok = co_await p->unsubscribe(); !ok) co_return ok;
  }
  co_await close();
  co_return result<void>{};
}

awaitable<void> consumer::close() {
  if (closed_) co_return;
  closed_ = true;
  arrived_.notify_all();
  redelivery_changed_.notify_all();
  dead_letter_arrived_.notify_all();
  for (auto& p : parts_) co_await p->close();
  co_await gate_.close();
  if (dead_letter_producer_) co_await dead_letter_producer_->close();
}

}  // namespace shfn::client
