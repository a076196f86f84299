// What the admin API reports (admin_stats.h): rates from samples (rate_meter, see admin.h), a
// topic's stats as Pulsar's admin API shapes them, partitions' stats summed, and /metrics.
#include "broker/admin_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "broker/admin_responses.h"
#include "broker/broker.h"
#include "broker/context.h"
#include "broker/registry.h"
#include "broker/subscription.h"
#include "broker/topic.h"
#include "http/prometheus.h"

namespace shfn::broker {

namespace pb = wire::pb;
using json = nlohmann::json;

namespace {

std::uint64_t unacked_of(const consumer& c) {
  std::uint64_t n = 0;
  for (const auto& [offset, sent] : c.unacked) n += static_cast<std::uint64_t>(sent.messages);
  return n;
}

}  // namespace

std::string subscription_key(const std::string& topic, const std::string& subscription) {
  return topic + '\0' + subscription;  // no topic name contains NUL
}

namespace {

// Bytes per stored entry, for the backlog's size: over what this topic took since it loaded, or
// over its log when it took nothing yet (an estimate, as Pulsar's backlogSize is).
std::uint64_t entry_size(const topic& t) {
  const topic_stats& s = t.stats();
  if (s.entries > 0) return s.bytes_in / s.entries;
  const std::uint64_t stored = t.durable_end() - std::min(t.durable_end(), t.start_offset());
  return stored == 0 ? 0 : t.storage_size() / stored;
}

json publisher_json(const publisher_info& p) {
  return {{"producerName", p.name},
          {"producerId", p.producer_id},
          {"address", "/" + p.address},
          {"connectedSince", iso8601_ms(p.connected_since_ms)}};
}

json subscription_json(const subscription& sub, double rate_out, std::uint64_t entry_bytes) {
  json consumers = json::array();
  for (const auto& c : sub.consumers()) {
    consumers.push_back({{"consumerName", c->name},
                         {"availablePermits", c->permits},
                         {"unackedMessages", unacked_of(*c)},
                         {"msgOutCounter", c->messages_out},
                         {"bytesOutCounter", c->bytes_out}});
  }
  return {{"type", pb::CommandSubscribe::SubType_Name(sub.type())},
          {"msgBacklog", sub.backlog()},
          {"backlogSize", sub.backlog() * entry_bytes},
          {"unackedMessages", sub.unacked_messages()},
          {"msgRateOut", rate_out},
          {"msgOutCounter", sub.messages_out()},
          {"bytesOutCounter", sub.bytes_out()},
          {"isDurable", sub.durable()},
          {"consumers", std::move(consumers)}};
}

// Pulsar's `compaction` stats of a topic: its last compaction (0s when none ran).
json compaction_json(const compaction_record& last) {
  return {{"lastCompactionRemovedEventCount", last.removed},
          {"lastCompactionSucceedTimestamp", last.succeeded_ms},
          {"lastCompactionFailedTimestamp", last.failed_ms},
          {"lastCompactionDurationTimeInMills", last.duration_ms}};
}

}  // namespace

json topic_stats_json(const topic& t, const rates_view& rates, const std::string& owner) {
  const topic_stats& s = t.stats();
  json publishers = json::array();
  for (const auto& p : t.publishers()) publishers.push_back(publisher_json(p));
  const std::uint64_t entry_bytes = entry_size(t);
  json subscriptions = json::object();
  double rate_out = 0;
  std::uint64_t out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t backlog = 0;  // the slowest durable subscription's, as Pulsar's
  for (const auto& [name, sub] : t.subscriptions()) {
    const double sub_rate = rates.messages_out.rate(subscription_key(t.name(), name));
    rate_out += sub_rate;
    out += sub->messages_out();
    bytes_out += sub->bytes_out();
    if (sub->durable()) backlog = std::max(backlog, sub->backlog());
    subscriptions[name] = subscription_json(*sub, sub_rate, entry_bytes);
  }
  // As Pulsar's: the size of the messages coming in lately, 0 when none are.
  const double rate_in = rates.messages_in.rate(t.name());
  const double throughput_in = rates.bytes_in.rate(t.name());
  return {{"msgRateIn", rate_in},
          {"msgThroughputIn", throughput_in},
          {"msgRateOut", rate_out},
          {"msgInCounter", s.messages_in},
          {"bytesInCounter", s.bytes_in},
          {"msgOutCounter", out},
          {"bytesOutCounter", bytes_out},
          {"averageMsgSize", rate_in > 0 ? throughput_in / rate_in : 0.0},
          {"storageSize", t.storage_size()},
          {"backlogSize", backlog * entry_bytes},
          {"backlogQuotaLimitSize", -1},
          {"backlogQuotaLimitTime", -1},
          {"oldestBacklogMessageAgeSeconds", -1},
          {"deduplicationStatus", "Enabled"},
          {"publishers", std::move(publishers)},
          {"subscriptions", std::move(subscriptions)},
          {"compaction", compaction_json(t.compaction())},
          {"ownerBroker", owner}};
}

namespace {

// A position in the one ledger, "0:N"; the position before the first entry is "0:-1".
std::string position(std::uint64_t next_offset) {
  return fmt::format("0:{}", static_cast<std::int64_t>(next_offset) - 1);
}

json cursor_json(const subscription& sub) {
  // Pulsar's form: half-open ranges of positions, "[(0:3..0:5],(0:7..0:8]]".
  std::string ranges = "[";
  for (const auto& [first, last] : sub.acked_ranges()) {
    if (ranges.size() > 1) ranges += ",";
    ranges += fmt::format("({}..{}]", position(first), position(last));
  }
  ranges += "]";
  return {{"markDeletePosition", position(sub.mark_delete())},
          {"readPosition", position(sub.mark_delete() + 1)},
          {"messagesConsumedCounter", sub.messages_out()},
          {"individuallyDeletedMessages", ranges},
          {"totalNonContiguousDeletedMessagesRange", sub.acked_ranges().size()},
          {"state", "Open"},
          {"active", !sub.consumers().empty()},
          {"properties", json::object()}};
}

// The compacted view as Pulsar names its compacted ledger: each generation a ledger of its own
// (the topic's log is ledger 0); -1s when the topic was never compacted.
json compacted_ledger_json(const storage::compacted_log* view) {
  json ledger = {{"ledgerId", -1},
                 {"entries", -1},
                 {"size", -1},
                 {"offloaded", false},
                 {"underReplicated", false}};
  if (view != nullptr) {
    ledger["ledgerId"] = view->generation() + 1;
    ledger["entries"] = view->entries();
    ledger["size"] = view->size_bytes();
  }
  return ledger;
}

}  // namespace

json topic_internal_stats_json(const topic& t) {
  const std::uint64_t entries = t.durable_end() - std::min(t.durable_end(), t.start_offset());
  json cursors = json::object();
  for (const auto& [name, sub] : t.subscriptions()) {
    if (sub->durable()) cursors[name] = cursor_json(*sub);
  }
  return {{"entriesAddedCounter", t.stats().entries},
          {"numberOfEntries", entries},
          {"totalSize", t.storage_size()},
          {"currentLedgerEntries", entries},
          {"currentLedgerSize", t.storage_size()},
          {"waitingCursorsCount", 0},
          {"pendingAddEntriesCount", 0},
          {"lastConfirmedEntry", position(t.durable_end())},
          {"state", t.terminated() ? "Terminated" : "LedgerOpened"},
          {"ledgers", json::array({{{"ledgerId", t.ledger_id()},
                                    {"entries", entries},
                                    {"size", t.storage_size()},
                                    {"offloaded", false},
                                    {"underReplicated", false}}})},
          {"cursors", std::move(cursors)},
          {"schemaLedgers", json::array()},
          {"compactedLedger", compacted_ledger_json(t.compacted_view())}};
}

json topic_internal_info_json(const topic& t, std::uint64_t changed_ms) {
  const std::string changed = iso8601_ms(changed_ms);
  const auto at = [&](std::uint64_t next_offset) {
    return json{{"ledgerId", t.ledger_id()},
                {"entryId", static_cast<std::int64_t>(next_offset) - 1}};
  };
  json cursors = json::object();
  for (const auto& [name, sub] : t.subscriptions()) {
    if (!sub->durable()) continue;
    cursors[name] = {{"version", 1},
                     {"creationDate", changed},
                     {"modificationDate", changed},
                     {"cursorsLedgerId", -1},
                     {"markDelete", at(sub->mark_delete())}};
  }
  json info = {
      {"version", 1},
      {"creationDate", changed},
      {"modificationDate", changed},
      {"ledgers",
       json::array(
           {{{"ledgerId", t.ledger_id()}, {"timestamp", changed_ms}, {"isOffloaded", false}}})},
      {"cursors", std::move(cursors)}};
  if (t.terminated()) info["terminatedPosition"] = at(t.end_offset());
  return info;
}

// Adds one partition's stats into the partitioned topic's.
void add_stats(json& total, const json& part) {
  for (const char* key : {"msgRateIn", "msgThroughputIn", "msgRateOut"}) {
    total[key] = total[key].get<double>() + part[key].get<double>();
  }
  for (const char* key : {"msgInCounter", "bytesInCounter", "msgOutCounter", "bytesOutCounter",
                          "storageSize", "backlogSize"}) {
    total[key] = total[key].get<std::uint64_t>() + part[key].get<std::uint64_t>();
  }
  for (const auto& p : part["publishers"]) total["publishers"].push_back(p);
  for (const auto& [name, sub] : part["subscriptions"].items()) {
    json& into = total["subscriptions"][name];
    if (into.is_null()) {
      into = sub;
      continue;
    }
    for (const char* key :
         {"msgBacklog", "backlogSize", "unackedMessages", "msgOutCounter", "bytesOutCounter"}) {
      into[key] = into[key].get<std::uint64_t>() + sub[key].get<std::uint64_t>();
    }
    into["msgRateOut"] = into["msgRateOut"].get<double>() + sub["msgRateOut"].get<double>();
    for (const auto& c : sub["consumers"]) into["consumers"].push_back(c);
  }
}

// ------------------------------------------------------------------------------ metrics

std::string render_metrics(broker& b) {
  using http::metric_type;
  const auto& loaded = b.topics().loaded();
  http::metrics_writer out;

  out.family("shfn_broker_topics", metric_type::gauge,
             "Topics (partitions counted one by one) loaded.");
  out.sample("shfn_broker_topics", loaded.size());
  out.family("shfn_broker_connections", metric_type::gauge,
             "Open Pulsar-protocol client connections.");
  out.sample("shfn_broker_connections", b.connection_count());
  out.family("shfn_broker_disk_full", metric_type::gauge,
             "1 while the data directory's disk is full and producers are refused.");
  out.sample("shfn_broker_disk_full", b.context().disk.full() ? 1 : 0);

  struct topic_series {
    const char* name;
    metric_type type;
    const char* help;
    std::uint64_t (*value)(const topic&);
  };
  const topic_series per_topic[] = {
      {"shfn_topic_messages_in_total", metric_type::counter, "Messages published to the topic.",
       [](const topic& t) { return t.stats().messages_in; }},
      {"shfn_topic_bytes_in_total", metric_type::counter,
       "Bytes published to the topic: entries as stored, metadata and payload.",
       [](const topic& t) { return t.stats().bytes_in; }},
      {"shfn_topic_storage_bytes", metric_type::gauge, "Bytes of the topic's log on disk.",
       [](const topic& t) { return t.storage_size(); }},
      {"shfn_topic_producers", metric_type::gauge, "Producers connected to the topic.",
       [](const topic& t) { return static_cast<std::uint64_t>(t.producer_count()); }},
  };
  for (const auto& series : per_topic) {
    out.family(series.name, series.type, series.help);
    for (const auto& [name, t] : loaded) {
      out.sample(series.name, {{"topic", t->name()}}, series.value(*t));
    }
  }

  struct subscription_series {
    const char* name;
    metric_type type;
    const char* help;
    std::uint64_t (*value)(const subscription&);
  };
  const subscription_series per_subscription[] = {
      {"shfn_subscription_backlog", metric_type::gauge, "Entries not yet acknowledged.",
       [](const subscription& s) { return s.backlog(); }},
      {"shfn_subscription_unacked_messages", metric_type::gauge,
       "Messages sent to consumers and not acknowledged yet.",
       [](const subscription& s) { return s.unacked_messages(); }},
      {"shfn_subscription_messages_out_total", metric_type::counter,
       "Messages sent to the subscription's connected consumers.",
       [](const subscription& s) { return s.messages_out(); }},
      {"shfn_subscription_consumers", metric_type::gauge,
       "Consumers connected to the subscription.",
       [](const subscription& s) { return static_cast<std::uint64_t>(s.consumers().size()); }},
  };
  for (const auto& series : per_subscription) {
    out.family(series.name, series.type, series.help);
    for (const auto& [name, t] : loaded) {
      for (const auto& [sub_name, sub] : t->subscriptions()) {
        out.sample(series.name, {{"topic", t->name()}, {"subscription", sub_name}},
                   series.value(*sub));
      }
    }
  }
  return std::move(out).str();
}

// ------------------------------------------------------------------------------ rate_meter

void rate_meter::sample(const std::string& key, std::uint64_t counter, clock::time_point now) {
  auto it = series_.find(key);
  if (it == series_.end()) {
    series_.emplace(key, series{.last = counter, .at = now});
    return;
  }
  series& s = it->second;
  const std::chrono::duration<double> elapsed = now - s.at;
  if (elapsed.count() <= 0) return;
  const std::uint64_t increase = counter >= s.last ? counter - s.last : counter;
  s.rate = static_cast<double>(increase) / elapsed.count();
  s.last = counter;
  s.at = now;
}

double rate_meter::rate(const std::string& key) const {
  auto it = series_.find(key);
  return it == series_.end() ? 0.0 : it->second.rate;
}

void rate_meter::forget_before(clock::time_point t) {
  std::erase_if(series_, [t](const auto& entry) { return entry.second.at < t; });
}

}  // namespace shfn::broker
