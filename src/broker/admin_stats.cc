// What the admin API reports (admin_stats.h): rates from samples (rate_meter, see admin.h), a
// topic's stats as Pulsar's admin API shapes them, partitions' stats summed, and /metrics.
#include "broker/admin_stats.h"

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

json topic_stats_json(const topic& t, const rates_view& rates) {
  const topic_stats& s = t.stats();
  json publishers = json::array();
  for (const auto& name : t.producer_names()) publishers.push_back({{"producerName", name}});
  json subscriptions = json::object();
  double rate_out = 0;
  std::uint64_t out = 0;
  for (const auto& [name, sub] : t.subscriptions()) {
    json consumers = json::array();
    for (const auto& c : sub->consumers()) {
      consumers.push_back({{"consumerName", c->name},
                           {"availablePermits", c->permits},
                           {"unackedMessages", unacked_of(*c)},
                           {"msgOutCounter", c->messages_out}});
    }
    const double sub_rate = rates.messages_out.rate(subscription_key(t.name(), name));
    const std::uint64_t sub_out = sub->messages_out();
    rate_out += sub_rate;
    out += sub_out;
    subscriptions[name] = {{"type", pb::CommandSubscribe::SubType_Name(sub->type())},
                           {"msgBacklog", sub->backlog()},
                           {"unackedMessages", sub->unacked_messages()},
                           {"msgRateOut", sub_rate},
                           {"msgOutCounter", sub_out},
                           {"isDurable", sub->durable()},
                           {"consumers", std::move(consumers)}};
  }
  const double average_size =
      s.messages_in == 0 ? 0.0
                         : static_cast<double>(s.bytes_in) / static_cast<double>(s.messages_in);
  return {{"msgRateIn", rates.messages_in.rate(t.name())},
          {"msgThroughputIn", rates.bytes_in.rate(t.name())},
          {"msgRateOut", rate_out},
          {"msgInCounter", s.messages_in},
          {"bytesInCounter", s.bytes_in},
          {"msgOutCounter", out},
          {"averageMsgSize", average_size},
          {"storageSize", t.storage_size()},
          {"publishers", std::move(publishers)},
          {"subscriptions", std::move(subscriptions)}};
}

// Adds one partition's stats into the partitioned topic's.
void add_stats(json& total, const json& part) {
  for (const char* key : {"msgRateIn", "msgThroughputIn", "msgRateOut"}) {
    total[key] = total[key].get<double>() + part[key].get<double>();
  }
  for (const char* key : {"msgInCounter", "bytesInCounter", "msgOutCounter", "storageSize"}) {
    total[key] = total[key].get<std::uint64_t>() + part[key].get<std::uint64_t>();
  }
  for (const auto& p : part["publishers"]) total["publishers"].push_back(p);
  for (const auto& [name, sub] : part["subscriptions"].items()) {
    json& into = total["subscriptions"][name];
    if (into.is_null()) {
      into = sub;
      continue;
    }
    for (const char* key : {"msgBacklog", "unackedMessages", "msgOutCounter"}) {
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
      {"shfn_topic_bytes_in_total", metric_type::counter, "Payload bytes published to the topic.",
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
