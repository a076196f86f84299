#include "client/producer.h"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "base/spawn.h"
#include "client/client.h"
#include "client/errc.h"
#include "client/reconnect.h"
#include "wire/batch.h"
#include "wire/compression.h"
#include "wire/murmur3.h"
#include "wire/topic_name.h"

namespace shfn::client {

namespace pb = wire::pb;
using asio::awaitable;

namespace {

constexpr auto timer_tick = std::chrono::milliseconds(100);

template <class Metadata>
void copy_message_fields(const outgoing_message& m, Metadata& out) {
  if (m.key) out.set_partition_key(*m.key);
  for (const auto& [k, v] : m.properties) {
    auto* p = out.add_properties();
    p->set_key(k);
    p->set_value(v);
  }
  if (m.event_time != 0) out.set_event_time(m.event_time);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// partition_producer

partition_producer::partition_producer(client& owner, std::string topic, int partition,
                                       const producer_options& options, send_budget& budget)
    : client_(owner),
      topic_(std::move(topic)),
      partition_(partition),
      options_(options),
      budget_(budget),
      producer_id_(owner.next_producer_id()),
      name_(options.name),
      backoff_(owner.options().initial_backoff, owner.options().max_backoff) {}

partition_producer::~partition_producer() {
  if (conn_) conn_->detach_producer(producer_id_);
}

awaitable<result<void>> partition_producer::start() {
  const auto deadline = clock::now() + client_.options().operation_timeout;
  while (true) {
    auto ok = co_await connect_once();
    if (ok) break;
    // One draw per attempt: the delay checked against the deadline is the one slept.
    const auto delay = backoff_.next();
    if (!is_retriable(ok.error()) || clock::now() + delay >= deadline) {
      co_return fail(ok.error());
    }
    spdlog::debug("producer on {}: {}; retrying", topic_, ok.error().message());
    co_await sleep_for(delay);
  }
  backoff_.reset();
  auto ex = client_.executor();
  spawn_held(ex, gate_, reconnect_loop());
  spawn_held(ex, gate_, timer_loop());
  co_return result<void>{};
}

awaitable<result<void>> partition_producer::connect_once() {
  auto conn = co_await client_.pool().connection_for(topic_);
  if (!conn) co_return fail(conn.error());
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::PRODUCER);
  const std::uint64_t request_id = (*conn)->next_request_id();
  auto* p = c.mutable_producer();
  p->set_topic(topic_);
  p->set_producer_id(producer_id_);
  p->set_request_id(request_id);
  p->set_epoch(epoch_++);
  if (!name_.empty()) {
    p->set_producer_name(name_);
    p->set_user_provided_producer_name(!options_.name.empty());
  }
  (*conn)->attach_producer(producer_id_, this);
  auto response = co_await (*conn)->request(std::move(c), request_id);
  if (!response || response->type() != pb::BaseCommand::PRODUCER_SUCCESS) {
    (*conn)->detach_producer(producer_id_);
    co_return fail(response ? make_error_code(errc::unexpected_response) : response.error());
  }
  if (closing_) co_return fail(errc::closed);
  const auto& success = response->producer_success();
  name_ = success.producer_name();
  if (!sequence_known_) {
    // Resume after the last sequence id the broker has for this producer name (deduplication).
    next_sequence_id_ = success.last_sequence_id() >= 0
                            ? static_cast<std::uint64_t>(success.last_sequence_id()) + 1
                            : 0;
    sequence_known_ = true;
  }
  conn_ = std::move(*conn);
  for (const auto& op : pending_) conn_->send_frame(op.frame);
  if (!pending_.empty()) {
    spdlog::info("producer {} on {}: resent {} pending sends after reconnect", name_, topic_,
                 pending_.size());
  }
  co_return result<void>{};
}

awaitable<void> partition_producer::reconnect_loop() {
  const reconnect_state state{closing_, conn_, wake_, backoff_};
  co_await keep_connected(
      state, [this] { return connect_once(); },
      [this](const result<void>& outcome) {
        if (outcome) return;  // connect_once() logs the resend
        spdlog::warn("producer {} on {}: reconnect failed: {}", name_, topic_,
                     outcome.error().message());
        // As Pulsar's clients do: the broker will not take these sends for now (a full disk on
        // the embedded broker, a backlog quota on Pulsar), so they fail at once rather than at
        // the send timeout. Reconnecting goes on.
        if (is_quota_refusal(outcome.error())) fail_all(outcome.error());
      });
}

awaitable<void> partition_producer::timer_loop() {
  // Flushes batches that reached their delay and fails sends older than send_timeout.
  while (!closing_) {
    auto next = clock::now() + timer_tick;
    if (!batch_.callbacks.empty()) {
      next = std::min(next, batch_.started + options_.batching_max_delay);
    }
    co_await wake_.wait_until(next);
    if (closing_) break;
    if (!batch_.callbacks.empty() && clock::now() >= batch_.started + options_.batching_max_delay) {
      send_batch();
    }
    if (options_.send_timeout.count() > 0 && !pending_.empty() &&
        clock::now() > pending_.front().created + options_.send_timeout) {
      spdlog::warn("producer {} on {}: {} sends timed out", name_, topic_, pending_.size());
      fail_all(errc::timeout);
    }
  }
}

void partition_producer::enqueue(outgoing_message m, send_callback done) {
  if (closing_) return done(fail(errc::closed));
  const std::uint64_t sequence_id = m.sequence_id.value_or(next_sequence_id_);
  next_sequence_id_ = std::max(next_sequence_id_, sequence_id + 1);

  if (!options_.batching) {
    pb::MessageMetadata metadata;
    copy_message_fields(m, metadata);
    pending_send op{.sequence_id = sequence_id, .highest_sequence_id = sequence_id};
    op.callbacks.push_back(std::move(done));
    queue_send(std::move(op), std::move(metadata), m.payload);
    return;
  }
  const std::size_t needed = m.payload.size() + 64;
  if (!batch_.callbacks.empty() && batch_.payload.size() + needed > options_.batching_max_bytes) {
    send_batch();
  }
  pb::SingleMessageMetadata single;
  copy_message_fields(m, single);
  single.set_payload_size(static_cast<int>(m.payload.size()));
  single.set_sequence_id(sequence_id);
  if (batch_.callbacks.empty()) {
    batch_.first_sequence_id = sequence_id;
    batch_.started = clock::now();
    wake_.notify_all();  // the timer loop re-arms for this batch's delay
  }
  batch_.last_sequence_id = sequence_id;
  wire::append_to_batch(batch_.payload, single, m.payload);
  batch_.callbacks.push_back(std::move(done));
  if (static_cast<int>(batch_.callbacks.size()) >= options_.batching_max_messages) send_batch();
}

void partition_producer::send_batch() {
  if (batch_.callbacks.empty()) return;
  open_batch b = std::exchange(batch_, {});
  pb::MessageMetadata metadata;
  metadata.set_num_messages_in_batch(static_cast<int>(b.callbacks.size()));
  pending_send op{.sequence_id = b.first_sequence_id,
                  .highest_sequence_id = b.last_sequence_id,
                  .batched = true,
                  .callbacks = std::move(b.callbacks)};
  queue_send(std::move(op), std::move(metadata), b.payload);
}

void partition_producer::queue_send(pending_send op, pb::MessageMetadata metadata,
                                    byte_view payload) {
  metadata.set_producer_name(name_);
  metadata.set_sequence_id(op.sequence_id);
  metadata.set_publish_time(now_ms());
  bytes compressed;
  byte_view body = payload;
  if (options_.compression != pb::NONE) {
    auto packed = wire::compress(options_.compression, payload);
    if (!packed) {
      for (auto& cb : op.callbacks) cb(fail(packed.error()));
      return;
    }
    compressed = std::move(*packed);
    body = compressed;
    metadata.set_compression(options_.compression);
    metadata.set_uncompressed_size(static_cast<std::uint32_t>(payload.size()));
  }
  const std::size_t limit = conn_ ? conn_->max_message_size() : wire::default_max_message_size;
  if (body.size() > limit) {
    for (auto& cb : op.callbacks) cb(fail(errc::message_too_big));
    return;
  }
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::SEND);
  auto* send = c.mutable_send();
  send->set_producer_id(producer_id_);
  send->set_sequence_id(op.sequence_id);
  if (op.batched) {
    send->set_num_messages(static_cast<int>(op.callbacks.size()));
    send->set_highest_sequence_id(op.highest_sequence_id);
  }
  wire::append_payload_command(op.frame, c, metadata, body);
  op.created = clock::now();
  budget_.used += op.callbacks.size();
  if (conn_) conn_->send_frame(op.frame);
  pending_.push_back(std::move(op));
}

void partition_producer::on_frame(const wire::frame& f) {
  if (f.command.type() == pb::BaseCommand::SEND_RECEIPT) {
    handle_receipt(f.command.send_receipt());
  } else if (f.command.type() == pb::BaseCommand::SEND_ERROR) {
    handle_send_error(f.command.send_error());
  }
}

void partition_producer::handle_receipt(const pb::CommandSendReceipt& receipt) {
  if (pending_.empty() || receipt.sequence_id() < pending_.front().sequence_id) return;
  if (receipt.sequence_id() > pending_.front().sequence_id) {
    // A receipt overtook ours: something was lost in between. Resend everything on a fresh
    // producer, as Pulsar's clients do; deduplication drops what the broker already has.
    spdlog::warn("producer {} on {}: receipt for {} while expecting {}; reconnecting", name_,
                 topic_, receipt.sequence_id(), pending_.front().sequence_id);
    drop_connection();
    return;
  }
  wire::message_id id;
  if (receipt.has_message_id()) id = wire::message_id::from_pb(receipt.message_id());
  id.partition = partition_;
  complete_front(id);
}

void partition_producer::handle_send_error(const pb::CommandSendError& error) {
  spdlog::warn("producer {} on {}: send {} failed: {}", name_, topic_, error.sequence_id(),
               error.message());
  auto ec = server_error(error.error());
  if (!pending_.empty() && pending_.front().sequence_id == error.sequence_id() &&
      !is_retriable(ec)) {
    complete_front(fail(ec));
    return;
  }
  drop_connection();
}

void partition_producer::complete_front(result<wire::message_id> outcome) {
  pending_send op = std::move(pending_.front());
  pending_.pop_front();
  const auto count = static_cast<std::int32_t>(op.callbacks.size());
  for (std::int32_t i = 0; i < count; ++i) {
    if (outcome && op.batched) {
      wire::message_id id = *outcome;
      id.batch_index = i;
      id.batch_size = count;
      op.callbacks[static_cast<std::size_t>(i)](id);
    } else {
      op.callbacks[static_cast<std::size_t>(i)](outcome);
    }
  }
  budget_.used -= op.callbacks.size();
  budget_.freed.notify_all();
  if (pending_.empty()) drained_.notify_all();
}

void partition_producer::fail_all(std::error_code ec) {
  while (!pending_.empty()) complete_front(fail(ec));
  for (auto& cb : std::exchange(batch_, {}).callbacks) cb(fail(ec));
}

void partition_producer::drop_connection() {
  if (conn_) conn_->detach_producer(producer_id_);
  conn_.reset();
  wake_.notify_all();
}

void partition_producer::on_disconnected() {
  if (conn_) spdlog::info("producer {} on {}: disconnected; will reconnect", name_, topic_);
  conn_.reset();
  wake_.notify_all();
}

awaitable<result<void>> partition_producer::flush() {
  send_batch();
  // Sends time out on their own (timer_loop); without a send timeout, flush waits as long as
  // it takes.
  const auto deadline = options_.send_timeout.count() > 0
                            ? clock::now() + options_.send_timeout + timer_tick * 2
                            : clock::time_point::max();
  while (!pending_.empty()) {
    if (closing_) co_return fail(errc::closed);
    const bool woken = co_await drained_.wait_until(deadline);
    if (!woken && !pending_.empty()) co_return fail(errc::timeout);
  }
  co_return result<void>{};
}

awaitable<void> partition_producer::close() {
  if (closing_) co_return;
  closing_ = true;
  if (conn_) {
    pb::BaseCommand c;
    c.set_type(pb::BaseCommand::CLOSE_PRODUCER);
    const std::uint64_t request_id = conn_->next_request_id();
    c.mutable_close_producer()->set_producer_id(producer_id_);
    c.mutable_close_producer()->set_request_id(request_id);
    auto conn = conn_;
    (void)co_await conn->request(std::move(c), request_id);
    conn->detach_producer(producer_id_);
    conn_.reset();
  }
  fail_all(errc::closed);
  wake_.notify_all();
  drained_.notify_all();
  co_await gate_.close();
}

// ---------------------------------------------------------------------------------------------
// producer

producer::producer(client& owner, producer_options options, std::string topic, int partitions)
    : client_(owner), options_(std::move(options)), topic_(std::move(topic)) {
  budget_.limit = std::max<std::size_t>(1, options_.max_pending_messages);
  auto base = wire::parse_topic_name(topic_);
  if (partitions == 0) {
    parts_.push_back(std::make_unique<partition_producer>(client_, topic_, -1, options_, budget_));
  }
  for (int i = 0; i < partitions; ++i) {
    parts_.push_back(std::make_unique<partition_producer>(client_, base->partition_of(i).str(), i,
                                                          options_, budget_));
  }
}

producer::~producer() = default;

awaitable<result<void>> producer::start() {
  for (auto& p : parts_) {
    if (auto ok = co_await p->start(); !ok) {
      co_await close();
      co_return fail(ok.error());
    }
  }
  co_return result<void>{};
}

partition_producer& producer::route(const outgoing_message& m) {
  if (parts_.size() == 1) return *parts_.front();
  if (m.key)
    return *parts_[static_cast<std::size_t>(wire::pulsar_key_hash(*m.key)) % parts_.size()];
  return *parts_[round_robin_++ % parts_.size()];
}

awaitable<void> producer::send_async(outgoing_message m, send_callback done) {
  while (budget_.used >= budget_.limit && !closed_) co_await budget_.freed.wait();
  if (closed_) {
    done(fail(errc::closed));
    co_return;
  }
  route(m).enqueue(std::move(m), std::move(done));
}

bool producer::try_send_async(outgoing_message& m, send_callback& done) {
  if (closed_ || budget_.used >= budget_.limit) return false;
  route(m).enqueue(std::move(m), std::move(done));
  return true;
}

void producer::send_open_batches() {
  for (auto& p : parts_) p->send_batch();
}

awaitable<result<wire::message_id>> producer::send(outgoing_message m, bool publish_now) {
  auto receipt = std::make_shared<oneshot<result<wire::message_id>>>();
  // Named, not a temporary: GCC 12 double-destroys capturing lambdas in co_await arguments.
  send_callback done = [receipt](result<wire::message_id> r) { receipt->set(std::move(r)); };
  co_await send_async(std::move(m), std::move(done));
  if (publish_now) send_open_batches();
  auto r = co_await receipt->wait_until(clock::time_point::max());
  co_return std::move(*r);
}

awaitable<result<void>> producer::flush() {
  for (auto& p : parts_) {
    if (auto ok = co_await p->flush(); !ok) co_return ok;
  }
  co_return result<void>{};
}

awaitable<void> producer::close() {
  if (closed_) co_return;
  closed_ = true;
  budget_.freed.notify_all();
  for (auto& p : parts_) co_await p->close();
}

}  // namespace shfn::client
