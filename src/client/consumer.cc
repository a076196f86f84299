#include "client/consumer.h"

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "base/log.h"
#include "base/retry.h"
#include "base/spawn.h"
#include "client/client.h"
#include "client/errc.h"
#include "client/producer.h"
#include "client/reconnect.h"
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
      decoder_(topic_, partition, options.max_redeliver_count),
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
  spawn_held(client_.executor(), gate_, reconnect_loop());
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

// What the entry means is the decoder's business (entry_decoder.h); here it is carried out.
void partition_consumer::handle_message(const wire::frame& f) {
  auto out = decoder_.decode(f, owner_.incoming());
  permits_.entry_arrived(out.charged);
  for (auto& m : out.dead_letters) owner_.dead_letter(std::move(m));
  if (out.ack) queue_ack(*out.ack);
  if (out.queued > 0) owner_.arrived();
  if (out.permits_back > 0) consumed(out.permits_back);
}

void partition_consumer::acknowledge(const wire::message_id& id) {
  auto acks = decoder_.acknowledge(id);
  for (const auto& chunk : acks.other_chunks) queue_ack(chunk);
  if (acks.entry) queue_ack(*acks.entry);
}

void partition_consumer::acknowledge_cumulative(const wire::message_id& id) {
  const auto upto = decoder_.acknowledge_cumulative(id);
  if (!upto) return;
  if (!conn_) return;
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::ACK);
  c.mutable_ack()->set_consumer_id(consumer_id_);
  c.mutable_ack()->set_ack_type(pb::CommandAck::Cumulative);
  upto->to_pb(*c.mutable_ack()->add_message_id());
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
  for (const auto& id : ids) decoder_.give_back(id);
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
      for (const auto& chunk : decoder_.chunks_of(id))
        add(chunk);  // a chunked message comes back whole
      add(id);
    }
  } else {
    // The broker redelivers everything unacked for these types; what we hold locally would be
    // duplicated, so drop it and hand its permits back.
    const auto dropped = owner_.drop_queued(partition_);
    for (const auto& id : dropped) decoder_.give_back(id);
    grant_permits(static_cast<int>(dropped.size()));
  }
  conn_->send(c);
}

void partition_consumer::reset_local_state() {
  pending_acks_.clear();
  decoder_.disconnected();
  for (const auto& id : owner_.drop_queued(partition_)) decoder_.give_back(id);
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

awaitable<result<std::uint64_t>> partition_consumer::backlog() {
  if (!conn_) co_return fail(errc::connection_closed);
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::CONSUMER_STATS);
  const std::uint64_t request_id = conn_->next_request_id();
  c.mutable_consumerstats()->set_consumer_id(consumer_id_);
  c.mutable_consumerstats()->set_request_id(request_id);
  auto conn = conn_;
  auto r = co_await conn->request(c, request_id);
  if (!r) co_return fail(r.error());
  const auto& stats = r->consumerstatsresponse();
  if (stats.has_error_code()) co_return fail(server_error(stats.error_code()));
  co_return stats.msgbacklog();
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
  spawn_held(client_.executor(), gate_, redelivery_loop());
  if (options_.max_redeliver_count > 0) spawn_held(client_.executor(), gate_, dead_letter_loop());
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
  // The message moves from the queue straight into the result; its slot is freed after that
  // (co_return hands the value over before locals are destroyed), saving a move per message.
  struct pop_on_exit {
    message_queue& queue;
    ~pop_on_exit() { queue.pop_front(); }
  } pop{incoming_};
  co_return std::move(front_taken());
}

std::optional<message> consumer::try_receive() {
  if (closed_ || incoming_.empty()) return std::nullopt;
  std::optional<message> m(std::move(front_taken()));
  incoming_.pop_front();
  return m;
}

std::optional<message> consumer::try_receive_rest_of(const wire::message_id& taken) {
  if (closed_ || incoming_.empty()) return std::nullopt;
  if (!incoming_.front().id.same_entry(taken)) return std::nullopt;
  return try_receive();
}

message& consumer::front_taken() {
  message& m = incoming_.front();
  flow_queued_ = part_of(m.id).message_consumed() || flow_queued_;
  if (options_.ack_timeout.count() > 0) {
    unacked_since_[m.id] = clock::now();
    redelivery_changed_.notify_all();
  }
  return m;
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
      auto made = co_await create_dead_letter_producer(topic);
      if (!made) break;  // closed
      dead_letter_producer_ = std::move(*made);
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

awaitable<std::optional<std::unique_ptr<producer>>> consumer::create_dead_letter_producer(
    std::string topic) {
  const producer_options options{.topic = topic};
  const retry_policy::attempt_fn<std::unique_ptr<producer>> attempt = [this, &options] {
    return client_.create_producer(options);
  };
  const retry_policy::failure_fn failed = [&topic](const std::error_code& error,
                                                   std::chrono::milliseconds delay) {
    spdlog::error("dead-letter producer for {}: {}; retrying in {} ms", topic, error.message(),
                  delay.count());
  };
  const retry_policy retry{.initial = std::chrono::milliseconds(100),
                           .max = std::chrono::seconds(10),
                           .pause = [this](std::chrono::milliseconds d) { return pause(d); }};
  co_return co_await retry.until_done(attempt, failed);
}

// close() cuts it short; false once closed.
awaitable<bool> consumer::pause(std::chrono::milliseconds d) {
  if (!closed_) co_await dead_letter_arrived_.wait_until(clock::now() + d);
  co_return !closed_;
}

awaitable<result<void>> consumer::unsubscribe() {
  for (auto& p : parts_) {
    if (auto ok = co_await p->unsubscribe(); !ok) co_return ok;
  }
  co_await close();
  co_return result<void>{};
}

awaitable<result<std::uint64_t>> consumer::backlog() {
  std::uint64_t total = 0;
  for (auto& p : parts_) {
    auto part = co_await p->backlog();
    if (!part) co_return part;
    total += *part;
  }
  co_return total;
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
