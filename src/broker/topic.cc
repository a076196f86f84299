#include "broker/topic.h"

#include <algorithm>
#include <asio/post.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "storage/file.h"
#include "storage/layout.h"
#include "wire/errc.h"

namespace shfn::broker {

namespace pb = wire::pb;
namespace fs = std::filesystem;

namespace {

// Per log read; the first entry always comes whole, whatever its size.
constexpr std::size_t max_read_bytes = 1 << 20;
constexpr const char* type_property = "type";

// Runs one log's fdatasync on the syncer thread and reports back on the broker's executor.
struct log_sync final : storage::syncable {
  std::shared_ptr<storage::log> log;
  std::weak_ptr<topic> owner;
  asio::any_io_executor executor;

  log_sync(std::shared_ptr<storage::log> l, std::weak_ptr<topic> t, asio::any_io_executor ex)
      : log(std::move(l)), owner(std::move(t)), executor(std::move(ex)) {}

  void sync_now() override {
    result<std::uint64_t> end = log->sync();
    asio::post(executor, [owner = owner, end] {
      if (auto t = owner.lock()) t->on_synced(end);
    });
  }
};

// The highest sequence id an entry carries (a batch covers sequence_id..highest_sequence_id).
std::int64_t highest_sequence_of(const pb::MessageMetadata& meta) {
  auto seq = static_cast<std::int64_t>(meta.sequence_id());
  if (meta.has_highest_sequence_id()) {
    seq = std::max(seq, static_cast<std::int64_t>(meta.highest_sequence_id()));
  } else if (meta.has_num_messages_in_batch()) {
    seq += std::max(0, meta.num_messages_in_batch() - 1);
  }
  return seq;
}

}  // namespace

topic::topic(broker_context& ctx, wire::topic_name name, std::shared_ptr<storage::log> log)
    : ctx_(ctx),
      name_(std::move(name)),
      full_name_(name_.str()),
      dir_(storage::topic_dir(ctx.options.data_dir, name_)),
      log_(std::move(log)) {
  if (log_) durable_end_ = log_->end_offset();
}

topic::~topic() = default;

result<std::shared_ptr<topic>> topic::load(broker_context& ctx, const wire::topic_name& name) {
  std::shared_ptr<storage::log> log;
  if (name.persistent) {
    const storage::log_options options{.segment_bytes = ctx.options.segment_bytes};
    auto opened =
        storage::log::open(storage::topic_dir(ctx.options.data_dir, name) / "log", options);
    if (!opened) return fail(opened.error());
    log = std::move(*opened);
    // What recovery found is on disk; make it durable before anyone is told about it.
    if (auto synced = log->sync(); !synced) return fail(synced.error());
  }
  std::shared_ptr<topic> t(new topic(ctx, name, std::move(log)));
  if (t->persistent()) {
    std::error_code ec;
    t->terminated_ = fs::exists(storage::terminated_file(t->dir_), ec);
    if (auto ok = t->load_compacted_view(); !ok) return fail(ok.error());
    if (auto ok = t->load_subscriptions(); !ok) return fail(ok.error());
    t->keep_for_compaction();
    if (auto ok = t->rebuild_dedup_state(); !ok) return fail(ok.error());
  }
  return t;
}

bool topic::idle() const {
  if (!producers_.empty() || access_.waiting() > 0 || access_.has_epoch()) return false;
  if (!awaiting_sync_.empty() || sync_requested_ || failed_) return false;
  // A compaction reads the log: unloading would open a second one on the same files.
  if (compacting()) return false;
  return std::ranges::all_of(subscriptions_,
                             [](const auto& s) { return s.second->consumers().empty(); });
}

bool topic::in_use_for_schemas() const {
  if (!producers_.empty() || end_offset() > start_offset() || stats_.messages_in != 0) return true;
  return std::ranges::any_of(subscriptions_, [](const auto& s) {
    return std::ranges::any_of(s.second->consumers(),
                               [](const auto& c) { return !c->reads_any_schema; });
  });
}

std::size_t topic::open_files() const {
  std::size_t files = log_ ? log_->open_files() : 0;
  for (const auto& [name, sub] : subscriptions_) files += sub->open_files();
  return files;
}

void topic::release_idle_cursors() {
  for (const auto& [name, sub] : subscriptions_) sub->release_cursor_if_idle();
}

fs::path topic::cursor_path(const std::string& subscription) const {
  return storage::cursor_path(dir_, subscription);
}

fs::path topic::reader_cursor_path(const std::string& subscription) const {
  return storage::cursor_path(dir_, subscription, /*reader=*/true);
}

result<void> topic::load_subscriptions() {
  std::error_code ec;
  fs::remove_all(dir_ / "readers", ec);  // readers do not outlive their connection
  if (ec) return fail(ec);
  fs::directory_iterator it(dir_ / "cursors", ec);
  if (ec) return {};  // no subscriptions yet
  for (const auto& file : it) {
    if (file.path().extension() != storage::cursor_suffix) continue;
    auto decoded = storage::decode_path_component(file.path().stem().string());
    if (!decoded) {
      spdlog::warn("topic {}: ignoring {}: not a cursor the broker wrote", full_name_,
                   file.path().string());
      continue;
    }
    const std::string& name = *decoded;
    // Compactions of the cursor's journal run on the syncer thread, off the event loop.
    auto cursor = storage::cursor_file::open(file.path(), {}, &ctx_.syncer);
    if (!cursor) return fail(cursor.error());
    auto type = pb::CommandSubscribe::Exclusive;
    auto props = (*cursor)->state().properties;
    if (auto t = props.find(type_property); t != props.end()) {
      pb::CommandSubscribe::SubType_Parse(t->second, &type);
    }
    auto loaded = std::make_unique<subscription>(*this, name, type, std::move(*cursor));
    loaded->release_cursor_if_idle();  // opened again when a consumer acknowledges
    subscriptions_.emplace(name, std::move(loaded));
  }
  return {};
}

// A view whose horizon is past the log's end covers entries the log lost (a machine crash with
// --sync none, a damaged tail cut away): it would hide what is written there next. It goes,
// and the next compaction builds the view again.
result<void> topic::load_compacted_view() {
  auto view = storage::compacted_log::open(dir_);
  if (!view) return fail(view.error());
  if (*view && (*view)->horizon() > log_->end_offset()) {
    spdlog::warn("topic {}: its compacted view reaches offset {} past the log's end {}; dropped",
                 full_name_, (*view)->horizon(), log_->end_offset());
    view->reset();
    return storage::compacted_log::remove_other_generations(dir_, std::nullopt);
  }
  compacted_ = std::move(*view);
  return {};
}

// Scans the log once so that deduplication knows each producer's last stored sequence id.
result<void> topic::rebuild_dedup_state() {
  for (std::uint64_t at = log_->start_offset(); at < log_->end_offset();) {
    auto entries = log_->read(at, 1000, max_read_bytes);
    if (!entries) return fail(entries.error());
    if (entries->empty()) break;
    for (const auto& e : *entries) {
      if (auto section = wire::decode_checksummed(e.data)) {
        const pb::MessageMetadata& meta = section->metadata;
        auto& last = stored_up_to_[meta.producer_name()];
        const auto sequence = static_cast<std::int64_t>(meta.sequence_id());
        last = std::max(last, publish_position::reached(sequence, highest_sequence_of(meta), meta));
      }
      at = e.offset + 1;
    }
  }
  return {};
}

// ------------------------------------------------------------------------------ producers

std::int64_t topic::last_sequence_of(const std::string& producer_name) const {
  auto last = stored_up_to_.find(producer_name);
  return last == stored_up_to_.end() ? -1 : last->second.last_complete();
}

result<producer_success> topic::add_producer(producer_registration r) {
  if (terminated_) return fail(wire::server_error(pb::TopicTerminatedError));
  if (auto it = producers_.find(r.name); it != producers_.end() && !it->second.link.expired()) {
    return fail(wire::server_error(pb::ProducerBusy));
  }
  auto admitted = access_.admit({.name = r.name, .access = r.access, .topic_epoch = r.topic_epoch});
  if (!admitted) return fail(admitted.error());
  fence(admitted->fenced);
  producers_[r.name] = {.link = std::move(r.link),
                        .producer_id = r.producer_id,
                        .request_id = r.request_id,
                        .address = std::move(r.address),
                        .connected_since_ms = static_cast<std::uint64_t>(now_ms())};
  if (!admitted->ready) {
    spdlog::info("topic {}: producer {} waits for the exclusive producer to leave", full_name_,
                 r.name);
  }
  return producer_success{.request_id = r.request_id,
                          .producer_name = r.name,
                          .last_sequence_id = last_sequence_of(r.name),
                          .topic_epoch = admitted->topic_epoch,
                          .ready = admitted->ready};
}

// Closes these producers (ExclusiveWithFencing took the topic, or a write failed): their
// clients reconnect, and a fenced exclusive producer, with an older epoch, is refused.
void topic::fence(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    auto it = producers_.find(name);
    if (it == producers_.end()) continue;
    spdlog::info("topic {}: producer {} closed", full_name_, name);
    auto link = it->second.link.lock();
    const std::uint64_t id = it->second.producer_id;
    producers_.erase(it);
    if (link) link->send_close_producer(id);
  }
}

void topic::promote(const producer_access::promotion& p) {
  auto it = producers_.find(p.name);
  if (it == producers_.end()) return;
  spdlog::info("topic {}: waiting producer {} now holds the topic", full_name_, p.name);
  auto link = it->second.link.lock();
  if (!link) return remove_producer(p.name);  // gone while it waited: the next one, then
  link->send_producer_success(it->second.producer_id, {.request_id = it->second.request_id,
                                                       .producer_name = p.name,
                                                       .last_sequence_id = last_sequence_of(p.name),
                                                       .topic_epoch = p.topic_epoch});
}

void topic::remove_producer(const std::string& producer_name) {
  producers_.erase(producer_name);
  if (auto next = access_.release(producer_name)) promote(*next);
}

void topic::publish(const wire::frame& send, publish_request request) {
  const int messages = send.command.send().num_messages();
  stats_.messages_in += static_cast<std::uint64_t>(std::max(1, messages));
  stats_.bytes_in += send.checksummed.size();
  if (failed_) {
    if (auto link = request.link.lock()) {
      link->send_error(request.producer_id, request.sequence_id, pb::PersistenceError,
                       "the topic's storage failed, or the topic was deleted; see the broker log");
    }
    return;
  }
  if (!log_) return publish_transient(send, request);
  if (terminated_) {
    if (auto link = request.link.lock()) {
      link->send_error(request.producer_id, request.sequence_id, pb::TopicTerminatedError,
                       "Topic was already terminated");
    }
    return;
  }
  if (ctx_.disk.full()) return close_producer_on_full_disk(request.producer_name);
  const auto& meta = *send.metadata;
  const auto sequence = static_cast<std::int64_t>(request.sequence_id);
  auto last = stored_up_to_.find(request.producer_name);
  if (last != stored_up_to_.end() && publish_position::first(sequence, meta) <= last->second) {
    return answer_duplicate(request);
  }
  auto offset = log_->append(send.checksummed, send.metadata->publish_time());
  if (!offset && ctx_.disk_full_after(offset.error())) {
    return close_producer_on_full_disk(request.producer_name);
  }
  if (!offset) {
    spdlog::error("topic {}: append failed: {}", full_name_, offset.error().message());
    if (auto link = request.link.lock()) {
      link->send_error(request.producer_id, request.sequence_id, pb::PersistenceError,
                       "cannot store the message: " + offset.error().message());
    }
    // As Pulsar closes a producer on a persistence error: its SENDs already on their way
    // (a smaller one may still fit) must not be stored ahead of the failed one, or the
    // deduplication mark would pass it and its resend would be dropped as a duplicate.
    fence({request.producer_name});
    if (auto next = access_.release(request.producer_name)) promote(*next);
    return;
  }
  stored_up_to_[request.producer_name] = publish_position::reached(
      sequence, static_cast<std::int64_t>(request.highest_sequence_id), meta);
  ++stats_.entries;
  awaiting_sync_.push_back({.offset = *offset, .request = std::move(request)});
  request_sync();
}

// The SEND is dropped unanswered and its producer closed, as its SENDs on their way are: the
// client re-creates the producer, is refused while the disk is full (session::on_producer), and
// fails the sends it holds; none is acknowledged, and none is stored ahead of this one.
void topic::close_producer_on_full_disk(const std::string& producer_name) {
  fence({producer_name});
  if (auto next = access_.release(producer_name)) promote(*next);
}

void topic::close_producers() {
  std::vector<std::string> names;
  for (const auto& [name, p] : producers_) names.push_back(name);
  fence(names);
  for (const auto& name : names) (void)access_.release(name);  // the waiting ones went too
}

void topic::disconnect_clients() {
  close_producers();
  for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
    it->second->disconnect_all();
    it = it->second->ephemeral() ? subscriptions_.erase(it) : std::next(it);
  }
}

// A resend of something already stored: answered (without a new id) once what came before it
// is durable, so receipts still reach the producer in order.
void topic::answer_duplicate(const publish_request& request) {
  if (awaiting_sync_.empty()) {
    if (auto link = request.link.lock()) {
      link->send_receipt(request.producer_id, request.sequence_id, request.highest_sequence_id,
                         {.ledger = -1, .entry = -1});
    }
    return;
  }
  awaiting_sync_.push_back(
      {.offset = awaiting_sync_.back().offset, .request = request, .duplicate = true});
}

void topic::after_pending_answers(std::function<void()> then) {
  if (awaiting_sync_.empty()) return then();
  awaiting_sync_.push_back({.offset = awaiting_sync_.back().offset, .then = std::move(then)});
}

void topic::publish_transient(const wire::frame& send, const publish_request& request) {
  const std::uint64_t offset = transient_sequence_++;
  bytes data(send.checksummed.begin(), send.checksummed.end());
  auto entry = describe_entry(offset, std::move(data), /*with_key_hash=*/true);
  if (entry) {
    for (auto& [name, sub] : subscriptions_) sub->offer_transient(*entry);
  }
  if (auto link = request.link.lock()) {
    link->send_receipt(request.producer_id, request.sequence_id, request.highest_sequence_id,
                       {.ledger = ledger_id(), .entry = static_cast<std::int64_t>(offset)});
  }
}

void topic::request_sync() {
  if (ctx_.options.sync == sync_mode::none) {
    // Written is as good as it gets in this mode; answer on the next turn, batched.
    if (sync_requested_) return;
    sync_requested_ = true;
    asio::post(ctx_.executor, [self = weak_from_this()] {
      if (auto t = self.lock()) t->on_synced(t->log_->end_offset());
    });
    return;
  }
  if (sync_requested_) return;  // the sync in flight is followed by another if needed
  sync_requested_ = true;
  ctx_.syncer.request(std::make_shared<log_sync>(log_, weak_from_this(), ctx_.executor));
}

void topic::on_synced(result<std::uint64_t> end) {
  sync_requested_ = false;
  if (!end) {
    spdlog::error("topic {}: sync failed, refusing further writes: {}", full_name_,
                  end.error().message());
    failed_ = true;
    for (auto& waiting : awaiting_sync_) {
      if (waiting.then) {
        waiting.then();
      } else if (auto link = waiting.request.link.lock()) {
        link->send_error(waiting.request.producer_id, waiting.request.sequence_id,
                         pb::PersistenceError, "the message could not be made durable");
      }
    }
    awaiting_sync_.clear();
    return;
  }
  durable_end_ = std::max(durable_end_, *end);
  while (!awaiting_sync_.empty() && awaiting_sync_.front().offset < durable_end_) {
    const awaiting_sync& done = awaiting_sync_.front();
    if (done.then) {
      done.then();
    } else if (auto link = done.request.link.lock()) {
      const wire::message_id id =
          done.duplicate ? wire::message_id{.ledger = -1, .entry = -1}
                         : wire::message_id{.ledger = ledger_id(),
                                            .entry = static_cast<std::int64_t>(done.offset)};
      link->send_receipt(done.request.producer_id, done.request.sequence_id,
                         done.request.highest_sequence_id, id);
    }
    awaiting_sync_.pop_front();
  }
  if (!awaiting_sync_.empty()) request_sync();
  for (auto& [name, sub] : subscriptions_) sub->on_entries_available();
}

// ------------------------------------------------------------------------------ subscriptions

// Where a new subscription starts: a reader (non-durable) names a message id, anything else
// says earliest or latest.
std::uint64_t topic::start_of(const pb::CommandSubscribe& request) const {
  const std::uint64_t first = start_offset(request.read_compacted());
  if (!request.durable() && request.has_start_message_id()) {
    const auto& id = request.start_message_id();
    if (auto offset = offset_of(id, ledger_id())) return std::clamp(*offset, first, durable_end_);
    const bool latest = id.ledgerid() == std::numeric_limits<std::int64_t>::max();
    return latest ? durable_end_ : first;
  }
  const bool earliest = request.initialposition() == pb::CommandSubscribe::Earliest;
  return earliest ? first : durable_end_;
}

result<std::unique_ptr<subscription>> topic::create_subscription(
    const pb::CommandSubscribe& request) {
  std::unique_ptr<storage::cursor_file> cursor;
  const bool ephemeral = !request.durable();
  if (log_) {
    // A reader's cursor lives in readers/, replaced on every subscribe and gone with the reader.
    const fs::path path = ephemeral ? reader_cursor_path(request.subscription())
                                    : cursor_path(request.subscription());
    if (ephemeral) {
      if (auto ok = storage::cursor_file::remove(path); !ok) return fail(ok.error());
    }
    const std::map<std::string, std::string> props{
        {type_property, pb::CommandSubscribe::SubType_Name(request.subtype())}};
    auto opened = storage::cursor_file::open(path, props, &ctx_.syncer);
    if (!opened) return fail(opened.error());
    if (auto ok = (*opened)->reset(start_of(request)); !ok) return fail(ok.error());
    cursor = std::move(*opened);
  }
  return std::make_unique<subscription>(*this, request.subscription(), request.subtype(),
                                        std::move(cursor), ephemeral);
}

result<consumer*> topic::subscribe(const pb::CommandSubscribe& request, consumer_link* link,
                                   subscription** joined) {
  auto it = subscriptions_.find(request.subscription());
  if (it == subscriptions_.end()) {
    auto created = create_subscription(request);
    if (!created) return fail(created.error());
    it = subscriptions_.emplace(request.subscription(), std::move(*created)).first;
  }
  auto c = std::make_unique<consumer>();
  c->id = request.consumer_id();
  c->name = request.consumer_name();
  c->link = link;
  c->reads_any_schema = request.has_schema() && request.schema().type() == pb::Schema::AutoConsume;
  c->reads_compacted = request.read_compacted();
  if (request.has_keysharedmeta() && request.keysharedmeta().keysharedmode() == pb::STICKY) {
    for (const auto& r : request.keysharedmeta().hashranges()) {
      if (r.start() < 0 || r.end() < r.start() || r.end() >= 65536) {
        return fail(wire::server_error(pb::ConsumerAssignError));
      }
      c->hash_ranges.emplace_back(r.start(), r.end());
    }
  }
  auto attached = it->second->attach(std::move(c), request.subtype());
  if (!attached) return fail(attached.error());
  *joined = it->second.get();
  return *attached;
}

result<subscription*> topic::add_subscription(const std::string& name, std::uint64_t offset) {
  if (subscriptions_.contains(name)) return fail(wire::server_error(pb::NotAllowedError));
  pb::CommandSubscribe request;
  request.set_subscription(name);
  request.set_subtype(pb::CommandSubscribe::Exclusive);
  request.set_durable(true);
  auto created = create_subscription(request);
  if (!created) return fail(created.error());
  subscription* sub = created->get();
  subscriptions_.emplace(name, std::move(*created));
  if (auto ok = sub->seek(offset); !ok) return fail(ok.error());
  return sub;
}

subscription* topic::find_subscription(const std::string& name) {
  auto it = subscriptions_.find(name);
  return it == subscriptions_.end() ? nullptr : it->second.get();
}

void topic::detach(subscription* sub, consumer* c) {
  sub->detach(c);
  if (sub->ephemeral() && sub->consumers().empty()) {
    const std::string name = sub->name();  // a copy: deleting destroys the subscription
    if (auto ok = delete_subscription(name); !ok) {
      spdlog::warn("topic {}: cannot remove reader {}: {}", full_name_, name, ok.error().message());
    }
  }
}

result<void> topic::unsubscribe(subscription* sub, consumer* c) {
  if (sub->consumers().size() != 1 || sub->consumers().front().get() != c) {
    return fail(wire::server_error(pb::ConsumerBusy));
  }
  sub->detach(c);
  return delete_subscription(sub->name());
}

result<void> topic::delete_subscription(std::string name) {
  auto it = subscriptions_.find(name);
  if (it == subscriptions_.end()) return fail(wire::server_error(pb::SubscriptionNotFound));
  if (!it->second->consumers().empty()) return fail(wire::server_error(pb::ConsumerBusy));
  const bool stored = it->second->durable();
  const bool ephemeral = it->second->ephemeral();
  subscriptions_.erase(it);
  if (!stored) return {};
  return storage::cursor_file::remove(ephemeral ? reader_cursor_path(name) : cursor_path(name));
}

// ------------------------------------------------------------------------------ reads

result<std::vector<storage::entry>> topic::read(std::uint64_t from, std::size_t max_entries,
                                                bool compacted) const {
  if (compacted && compacted_ && from < compacted_->horizon()) {
    auto kept = compacted_->read(from, max_entries, max_read_bytes);
    if (!kept || !kept->empty()) return kept;
    from = std::max(compacted_->horizon(), start_offset());
  }
  if (!log_ || from >= durable_end_) return std::vector<storage::entry>{};
  const std::size_t available = static_cast<std::size_t>(durable_end_ - from);
  return log_->read(from, std::min(max_entries, available), max_read_bytes);
}

// Below the compacted view's horizon the view holds what compaction kept, whatever the log
// trimmed since.
std::uint64_t topic::start_offset(bool compacted) const {
  if (compacted && compacted_ && compacted_->entries() > 0) return 0;
  return log_ ? log_->start_offset() : 0;
}

std::uint64_t topic::end_offset() const {
  return log_ ? log_->end_offset() : transient_sequence_;
}

// The last message, as Pulsar names it: in a batch, the batch's last index, so a reader that
// starts inclusive at the last message gets that message and not the batch's first.
wire::message_id topic::last_message_id(bool compacted) const {
  if (compacted && compacted_ && durable_end_ <= compacted_->horizon()) {
    return last_compacted_message_id();
  }
  wire::message_id id{.ledger = ledger_id(), .partition = partition()};
  const bool empty = !log_ || durable_end_ == 0 || durable_end_ <= log_->start_offset();
  if (empty) return id;
  id.entry = static_cast<std::int64_t>(durable_end_ - 1);
  auto stored = read(durable_end_ - 1, 1);
  if (!stored || stored->empty()) return id;
  auto last = describe_entry(durable_end_ - 1, std::move(stored->front().data), false);
  if (last && last->batched) id.batch_index = last->messages - 1;
  return id;
}

result<std::uint64_t> topic::offset_at_time(std::uint64_t publish_time) const {
  if (!log_) return fail(wire::server_error(pb::NotAllowedError));
  return log_->find_by_time(publish_time);
}

// ------------------------------------------------------------------------------ lifecycle

void topic::trim() {
  if (!log_) return;
  expire();
  std::uint64_t consumed = durable_end_;
  for (const auto& [name, sub] : subscriptions_) consumed = std::min(consumed, sub->mark_delete());
  const retention kept = retention_policy();
  if (!kept.time_ms && kept.bytes == UINT64_MAX) return;  // kept for ever
  const std::uint64_t now = now_ms();
  std::uint64_t older_than = 0;  // no age qualifies, only the size
  if (kept.time_ms) older_than = now > *kept.time_ms ? now - *kept.time_ms : 0;
  auto freed = log_->trim(consumed, older_than, kept.bytes);
  if (!freed) {
    spdlog::warn("topic {}: trim failed: {}", full_name_, freed.error().message());
  } else if (*freed > 0) {
    spdlog::info("topic {}: reclaimed {} bytes of consumed data", full_name_, *freed);
  }
}

// A namespace's message TTL: what a subscription has left unacknowledged that long is skipped,
// as Pulsar's expiry does, without closing its consumers.
void topic::expire() {
  auto ttl = ctx_.tenants.policy(name_.tenant, name_.ns, "message_ttl_in_seconds");
  if (!ttl || !ttl->is_number_integer() || ttl->get<long long>() <= 0) return;
  const auto span = static_cast<std::uint64_t>(ttl->get<long long>()) * 1000;
  const std::uint64_t now = now_ms();
  auto first_live = offset_at_time(now > span ? now - span : 0);
  if (!first_live) return;
  for (const auto& [name, sub] : subscriptions_) {
    // What the compaction has not read yet stays for it, as Pulsar's expiry leaves it.
    if (name == compaction_subscription) continue;
    if (!sub->durable() || sub->mark_delete() >= *first_live) continue;
    if (auto ok = sub->skip_to(*first_live); !ok) {
      spdlog::warn("topic {}: cannot expire messages of {}: {}", full_name_, name,
                   ok.error().message());
    }
  }
}

// How long, and up to what size, consumed data is kept: the namespace's retention policy when
// one is set (-1: no limit), else the broker's --retention time.
topic::retention topic::retention_policy() const {
  auto policy = ctx_.tenants.policy(name_.tenant, name_.ns, "retention_policies");
  if (!policy || !policy->is_object()) {
    return {.time_ms = static_cast<std::uint64_t>(
                std::chrono::milliseconds(ctx_.options.retention).count())};
  }
  retention kept;
  const long long minutes = policy->value("retentionTimeInMinutes", 0LL);
  const long long megabytes = policy->value("retentionSizeInMB", 0LL);
  if (minutes >= 0) kept.time_ms = static_cast<std::uint64_t>(minutes) * 60'000;
  if (megabytes >= 0) kept.bytes = static_cast<std::uint64_t>(megabytes) << 20;
  return kept;  // as Pulsar's: consumed data goes once past either limit
}

result<wire::message_id> topic::terminate() {
  if (!log_) return fail(wire::server_error(pb::NotAllowedError));  // non-persistent: as Pulsar
  const wire::message_id last{.ledger = ledger_id(),
                              .entry = static_cast<std::int64_t>(end_offset()) - 1,
                              .partition = name_.partition};
  if (terminated_) return last;
  // What producers sent before this keeps its offset and is answered as usual; nothing after.
  const std::string mark = std::to_string(last.entry) + "\n";
  if (auto written = storage::replace_file_durably(storage::terminated_file(dir_), as_bytes(mark));
      !written) {
    return fail(written.error());
  }
  terminated_ = true;
  spdlog::info("topic {}: terminated at {}", full_name_, last.str());
  close_producers();
  for (auto& [name, sub] : subscriptions_) sub->on_entries_available();
  return last;
}

result<void> topic::remove() {
  // The compaction reads and writes the topic's files: they go once it is over.
  if (compacting()) return fail(std::make_error_code(std::errc::operation_in_progress));
  for (auto& [name, p] : producers_) {
    if (auto link = p.link.lock()) link->send_close_producer(p.producer_id);
  }
  producers_.clear();
  for (auto& [name, sub] : subscriptions_) sub->close_consumers();
  subscriptions_.clear();
  failed_ = true;
  if (!log_) return {};
  log_.reset();
  if (auto ok = storage::log::remove(dir_ / "log"); !ok) return ok;
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) return fail(ec);
  return {};
}

}  // namespace shfn::broker
