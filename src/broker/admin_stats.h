#pragma once
// Internal to the admin API (admin.cc): what it reports about topics. A topic's Pulsar-shaped
// stats (rates from the admin_server's rate_meters), one partitioned topic's stats summed over
// its partitions, and the Prometheus text of /metrics. Runs on the broker's executor, like the
// admin_server; reads the registry, never changes it.

#include <nlohmann/json.hpp>
#include <string>

#include "broker/admin.h"

namespace shfn::broker {

class broker;
class topic;

struct rates_view {
  const rate_meter& messages_in;
  const rate_meter& bytes_in;
  const rate_meter& messages_out;
};

// The key of a subscription's series in the messages_out rate_meter.
std::string subscription_key(const std::string& topic, const std::string& subscription);

// `owner` names the broker that serves the topic (host:port of its admin API), as Pulsar's
// ownerBroker does.
nlohmann::json topic_stats_json(const topic& t, const rates_view& rates, const std::string& owner);

// Pulsar's internal stats of a topic (`topics stats-internal`), for its one ledger, 0: entries,
// sizes, and each durable subscription's cursor ("0:N" positions, acked ranges).
nlohmann::json topic_internal_stats_json(const topic& t);

// Pulsar's managed-ledger info of a topic (`topics info-internal`): its one ledger and each
// durable subscription's mark-delete position. `changed_ms` stands for the dates Pulsar keeps
// and shfn does not: when the topic's directory last changed.
nlohmann::json topic_internal_info_json(const topic& t, std::uint64_t changed_ms);

// Adds one partition's stats into the partitioned topic's.
void add_stats(nlohmann::json& total, const nlohmann::json& part);

std::string render_metrics(broker& b);

}  // namespace shfn::broker
