// topic's compaction (topic.h, compactor.h): started on request or by the namespace's
// threshold, run on the broker's compaction thread, installed on the executor.

#include <asio/post.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "broker/topic.h"
#include "wire/errc.h"

namespace shfn::broker {

namespace pb = wire::pb;
namespace fs = std::filesystem;

namespace {

// Pulsar's name for the cursor that marks how far a topic is compacted.
constexpr const char* compaction_subscription = "__compaction";

// A compaction whose topic was deleted while it ran may have written into the deleted topic's
// directory, bringing it back (and the topic with it, to whoever lists the directories): what
// is there without a log goes.
void discard_orphan_view(const fs::path& topic_dir) {
  std::error_code ec;
  if (!fs::exists(topic_dir / "log", ec)) fs::remove_all(topic_dir, ec);
}

}  // namespace

result<void> topic::compact() {
  if (!log_ || failed_) return fail(wire::server_error(pb::NotAllowedError));
  if (compaction_.status == compaction_record::state::running) {
    return fail(std::make_error_code(std::errc::operation_in_progress));
  }
  compaction_.status = compaction_record::state::running;
  const std::uint64_t started_ms = now_ms();
  spdlog::info("topic {}: compacting the offsets below {}", full_name_, durable_end_);
  compaction_source source{
      .log = log_, .previous = compacted_, .horizon = durable_end_, .topic_dir = dir_};
  asio::post(ctx_.compactions, [source = std::move(source), owner = weak_from_this(),
                                executor = ctx_.executor, started_ms]() mutable {
    auto outcome = broker::compact(source);
    const fs::path dir = source.topic_dir;
    source = {};  // let go of the log and the old view here, before the topic drops them
    asio::post(executor, [owner, outcome = std::move(outcome), dir, started_ms]() mutable {
      if (auto t = owner.lock()) return t->install_compaction(std::move(outcome), started_ms);
      discard_orphan_view(dir);
    });
  });
  return {};
}

void topic::install_compaction(result<compaction_outcome> outcome, std::uint64_t started_ms) {
  const std::uint64_t now = now_ms();
  compaction_.duration_ms = now - std::min(now, started_ms);
  if (failed_) {  // deleted meanwhile, or its storage failed
    discard_orphan_view(dir_);
    return;
  }
  if (!outcome) {
    compaction_.status = compaction_record::state::error;
    compaction_.last_error = outcome.error().message();
    compaction_.failed_ms = now;
    spdlog::error("topic {}: compaction failed: {}", full_name_, compaction_.last_error);
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
  subscription* sub = find_subscription(compaction_subscription);
  if (sub == nullptr) {
    auto added = add_subscription(compaction_subscription, horizon);
    if (!added) {
      spdlog::warn("topic {}: cannot create the {} subscription: {}", full_name_,
                   compaction_subscription, added.error().message());
    }
    return;
  }
  if (auto moved = sub->skip_to(horizon); !moved) {
    spdlog::warn("topic {}: cannot move the {} subscription to {}: {}", full_name_,
                 compaction_subscription, horizon, moved.error().message());
  }
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
  if (!log_ || !compaction_threshold() || find_subscription(compaction_subscription)) return;
  mark_compaction_horizon(log_->start_offset());
}

void topic::compact_if_over_threshold() {
  if (!log_ || failed_ || compaction_.status == compaction_record::state::running) return;
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
