// topic's compaction (topic.h, compactor.h): started on request or by the namespace's
// threshold, run on the broker's compaction thread, installed on the executor.
//
// While it runs, the topic is neither unloaded (idle() says no) nor deleted (remove() refuses):
// the compaction holds the topic's log and writes into its directory, and a second log open on
// the same files, or a view written into a deleted topic's place, would corrupt them.

#include <asio/post.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "broker/topic.h"
#include "wire/errc.h"

namespace shfn::broker {

namespace pb = wire::pb;

const char* compaction_record::status_name() const {
  switch (status) {
    case state::not_run:
      return "NOT_RUN";
    case state::running:
      return "RUNNING";
    case state::success:
      return "SUCCESS";
    case state::error:
      return "ERROR";
  }
  return "ERROR";
}

result<void> topic::compact() {
  if (!log_ || failed_) return fail(wire::server_error(pb::NotAllowedError));
  if (compacting()) return fail(std::make_error_code(std::errc::operation_in_progress));
  // What the compaction is about to read must not be trimmed while it reads it.
  const std::uint64_t from = std::max(log_->start_offset(), compacted_ ? compacted_->horizon() : 0);
  if (auto* sub = find_subscription(std::string(compaction_subscription));
      sub == nullptr || sub->mark_delete() > from) {
    mark_compaction_horizon(from);
  }
  compaction_.status = compaction_record::state::running;
  const std::uint64_t started_ms = now_ms();
  spdlog::info("topic {}: compacting the offsets below {}", full_name_, durable_end_);
  compaction_source source{
      .log = log_, .previous = compacted_, .horizon = durable_end_, .topic_dir = dir_};
  asio::post(ctx_.compactions, [source = std::move(source), owner = weak_from_this(),
                                executor = ctx_.executor, started_ms]() mutable {
    auto outcome = broker::compact(source);
    // The old view's files are deleted once the new one is installed: close them first.
    source = {};
    // No topic any more: the broker stopped. A view that was committed is a whole one, found
    // again when the topic loads.
    asio::post(executor, [owner, outcome = std::move(outcome), started_ms]() mutable {
      if (auto t = owner.lock()) t->install_compaction(std::move(outcome), started_ms);
    });
  });
  return {};
}

void topic::install_compaction(result<compaction_outcome> outcome, std::uint64_t started_ms) {
  const std::uint64_t now = now_ms();
  compaction_.duration_ms = now - std::min(now, started_ms);
  if (!outcome) {
    compaction_.status = compaction_record::state::error;
    compaction_.last_error = outcome.error().message();
    compaction_.failed_ms = now;
    spdlog::error("topic {}: compaction failed: {}", full_name_, compaction_.last_error);
    ctx_.disk_full_after(outcome.error());
    return;
  }
  compacted_ = std::move(outcome->view);
  if (auto removed =
          storage::compacted_log::remove_other_generations(dir_, compacted_->generation());
      !removed) {
    spdlog::warn("topic {}: cannot delete the previous compacted view: {}", full_name_,
                 removed.error().message());
  }
  compaction_.status = compaction_record::state::success;
  compaction_.last_error.clear();
  compaction_.removed = outcome->removed;
  compaction_.succeeded_ms = now;
  spdlog::info("topic {}: compacted below offset {}: {} entries kept, {} messages removed",
               full_name_, compacted_->horizon(), compacted_->entries(), outcome->removed);
  mark_compaction_horizon(compacted_->horizon());
}

// The `__compaction` subscription stands at the horizon: what came after it stays for the
// next compaction, as Pulsar's compaction cursor keeps it.
void topic::mark_compaction_horizon(std::uint64_t horizon) {
  const std::string name(compaction_subscription);
  subscription* sub = find_subscription(name);
  if (sub == nullptr) {
    auto added = add_subscription(name, horizon);
    if (!added) {
      spdlog::warn("topic {}: cannot create the {} subscription: {}", full_name_, name,
                   added.error().message());
    }
    return;
  }
  auto moved = horizon < sub->mark_delete() ? sub->seek(horizon) : sub->skip_to(horizon);
  if (!moved) {
    spdlog::warn("topic {}: cannot move the {} subscription to {}: {}", full_name_, name, horizon,
                 moved.error().message());
  }
}

// The view's last message, for a consumer that reads compacted: in a batch, its last message
// that compaction kept. Entry -1 when the view is empty.
wire::message_id topic::last_compacted_message_id() const {
  wire::message_id id{.ledger = ledger_id(), .partition = partition()};
  auto last = compacted_->last();
  if (!last || !*last) return id;
  id.entry = static_cast<std::int64_t>((*last)->offset);
  id.batch_index = last_kept_index((*last)->data);
  return id;
}

// The namespace's compactionThreshold, when it is set and not 0.
std::optional<std::uint64_t> topic::compaction_threshold() const {
  auto threshold = ctx_.tenants.policy(name_.tenant, name_.ns, "compaction_threshold");
  if (!threshold || !threshold->is_number_integer() || threshold->get<long long>() <= 0) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(threshold->get<long long>());
}

// As Pulsar does when a topic loads in a namespace with a compaction threshold: the
// `__compaction` subscription is there from the start, so nothing is trimmed before the first
// compaction has read it.
void topic::keep_for_compaction() {
  if (!log_ || !compaction_threshold()) return;
  if (find_subscription(std::string(compaction_subscription)) != nullptr) return;
  mark_compaction_horizon(log_->start_offset());
}

void topic::compact_if_over_threshold() {
  if (!log_ || failed_ || compacting()) return;
  auto threshold = compaction_threshold();
  if (!threshold) return;
  const std::uint64_t first = log_->start_offset();
  const std::uint64_t from = compacted_ ? std::max(compacted_->horizon(), first) : first;
  if (durable_end_ <= from || log_->end_offset() <= first) return;
  // Pulsar's estimate: the entries not yet compacted times the average entry's size.
  const std::uint64_t average = log_->size_bytes() / (log_->end_offset() - first);
  const std::uint64_t pending = average * (durable_end_ - from);
  if (pending <= *threshold) return;
  spdlog::info("topic {}: about {} bytes not compacted, over the namespace's threshold of {}",
               full_name_, pending, *threshold);
  if (auto started = compact(); !started) {
    spdlog::warn("topic {}: cannot start a compaction: {}", full_name_, started.error().message());
  }
}

}  // namespace shfn::broker
