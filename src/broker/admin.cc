// The admin HTTP API (admin.h): its routes over the topic registry (topics, partitioned topics,
// subscriptions, health, /metrics) and the admin_server that serves them and samples the rates.
// What the stats and /metrics say is in admin_stats.cc.
#include "broker/admin.h"

#include <fmt/format.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "base/clock.h"
#include "base/log.h"
#include "base/strings.h"
#include "base/version.h"
#include "broker/admin_cursors.h"
#include "broker/admin_messages.h"
#include "broker/admin_responses.h"
#include "broker/admin_schemas.h"
#include "broker/admin_stats.h"
#include "broker/admin_tenancy.h"
#include "broker/broker.h"
#include "broker/context.h"
#include "broker/registry.h"
#include "broker/subscription.h"
#include "broker/topic.h"
#include "http/prometheus.h"
#include "storage/layout.h"
#include "ui/ui.h"
#include "wire/errc.h"
#include "wire/topic_name.h"

namespace shfn::broker {

namespace pb = wire::pb;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using json = nlohmann::json;
using http::error_response;
using http::http_request;
using http::http_response;

namespace {

constexpr auto sample_interval = std::chrono::seconds(1);
// More partitions than this is a typo; each loaded partition holds open files.
constexpr long long max_partitions = 1000;

// ------------------------------------------------------------------------------ responses

http_response not_found() {
  return error_response(404, "not found");
}

}  // namespace

http_response not_implemented(const http_request& r) {
  std::string route = r.target.substr(0, r.target.find('?'));
  return error_response(501, fmt::format("{} {} is part of Pulsar's admin API that the shfn broker "
                                         "does not implement (docs/broker.md)",
                                         r.method, route));
}

http_response not_honoured(std::string what) {
  return error_response(501, "the shfn broker does not implement " + what + " (docs/broker.md)");
}

namespace {

// The status for an error from the registry or a topic.
int status_of(std::error_code ec) {
  if (ec.category() == wire::server_category()) {
    switch (static_cast<pb::ServerError>(ec.value())) {
      case pb::TopicNotFound:
      case pb::SubscriptionNotFound:
      case pb::ConsumerNotFound:
        return 404;
      case pb::ConsumerBusy:
      case pb::ProducerBusy:
      case pb::NotAllowedError:
        return 412;
      case pb::InvalidTopicName:
        return 400;
      default:
        return 500;
    }
  }
  if (ec == wire::errc::bad_topic_name) return 400;
  return 500;
}

http_response error_of(std::error_code ec) {
  if (ec == std::errc::operation_in_progress) {  // what a running compaction refuses
    return error_response(409, "The topic is being compacted; try again once it is done");
  }
  return error_response(status_of(ec), ec.message());
}

bool flag(const http_request& r, const std::string& name, bool fallback = false) {
  auto it = r.query.find(name);
  if (it == r.query.end()) return fallback;
  return ascii_lower(it->second) == "true";
}

bool has_clients(const topic& t) {
  if (t.producer_count() > 0) return true;
  return std::ranges::any_of(t.subscriptions(),
                             [](const auto& entry) { return !entry.second->consumers().empty(); });
}

// ------------------------------------------------------------------------------ the API

// One request against the broker's registry. Short-lived: made per request.
class api {
 public:
  api(broker& b, rates_view rates) : broker_(b), topics_(b.topics()), rates_(rates) {}

  http_response handle(const http_request& r) {
    const auto& p = r.path;
    // The live view's page (src/ui) holds no data: it asks for a token when the API wants one.
    if (p.empty() || (p.size() == 1 && p[0] == "ui")) {
      if (r.method != "GET") return method_not_allowed("GET");
      return {.status = 200,
              .content_type = "text/html; charset=utf-8",
              .body = std::string(ui::live_page())};
    }
    const bool health = p.size() == 4 && p[0] == "admin" && p[2] == "brokers" && p[3] == "health";
    if (!health && !authorized(r)) {
      return error_response(401, "Authentication required: Authorization: Bearer <token>");
    }
    if (p.size() == 1 && p[0] == "metrics") {
      if (r.method != "GET") return method_not_allowed("GET");
      return {.status = 200,
              .content_type = std::string(http::prometheus_content_type),
              .body = render_metrics(broker_)};
    }
    if (p.empty() || (p[0] != "admin" && p[0] != "lookup")) return not_found();
    if (p.size() == 7 && p[0] == "lookup" && p[1] == "v2" && p[2] == "topic") return lookup(r);
    if (p.size() < 3 || p[0] != "admin" || p[1] != "v2") return not_implemented(r);
    if (p.size() == 4 && p[2] == "brokers" && p[3] == "health") {
      if (r.method != "GET") return method_not_allowed("GET");
      // Unhealthy while it cannot store what producers send, as Pulsar's check (a round trip
      // through a topic) fails then too.
      const auto& disk = broker_.context().disk;
      if (disk.full()) return error_response(503, disk.refusal());
      return {.status = 200, .content_type = "text/plain", .body = "ok"};
    }
    if (p.size() == 4 && p[2] == "brokers" && p[3] == "version") {  // pulsar-admin brokers version
      if (r.method != "GET") return method_not_allowed("GET");
      return {.status = 200, .content_type = "text/plain", .body = std::string(version())};
    }
    if (p.size() >= 5 && (p[2] == "persistent" || p[2] == "non-persistent")) return topics(r);
    if (auto answered = schema_routes(broker_, r)) return std::move(*answered);
    if (auto answered = tenancy_routes(broker_, r)) return std::move(*answered);
    return not_implemented(r);
  }

 private:
  // With token authentication on, every request but the health check needs a valid token.
  bool authorized(const http_request& r) const {
    const auto& auth = broker_.context().authenticator;
    if (!auth) return true;
    const auto token = http::bearer_token(r);
    if (!token) return false;
    const auto now = now_seconds();
    return auth->verify(*token, now).has_value();
  }

  // The HTTP lookup service (/lookup/v2/topic/{domain}/{tenant}/{ns}/{topic}), for clients
  // given an http:// service URL: every topic is served here.
  http_response lookup(const http_request& r) {
    if (r.method != "GET") return method_not_allowed("GET");
    const auto& p = r.path;
    if (p[3] != "persistent" && p[3] != "non-persistent") return not_implemented(r);
    auto t = wire::parse_topic_name(p[3] + "://" + p[4] + "/" + p[5] + "/" + p[6]);
    if (!t) return error_response(400, "Invalid topic name: " + p[6]);
    if (!topics_.admits(*t)) return error_response(404, "Namespace not found");
    json found = {{"brokerUrl", broker_.service_url()},
                  {"httpUrl", broker_.admin_url()},
                  {"nativeUrl", broker_.service_url()},
                  {"brokerUrlSsl", ""}};  // always empty on Pulsar too
    if (!broker_.tls_service_url().empty()) found["brokerUrlTls"] = broker_.tls_service_url();
    if (!broker_.admin_tls_url().empty()) found["httpUrlTls"] = broker_.admin_tls_url();
    return json_response(200, found);
  }

  // /admin/v2/{domain}/{tenant}/{ns}[/{topic}[/{action}[/{name}]]]
  http_response topics(const http_request& r) {
    const auto& p = r.path;
    const bool persistent = p[2] == "persistent";
    const std::string& tenant = p[3];
    const std::string& ns = p[4];
    auto probe = wire::parse_topic_name(p[2] + "://" + tenant + "/" + ns + "/probe");
    if (!probe) return error_response(400, "Invalid namespace name: " + tenant + "/" + ns);
    if (!topics_.admits(*probe)) return error_response(404, "Namespace not found");
    if (p.size() == 5) {
      if (r.method != "GET") return method_not_allowed("GET");
      return list(persistent, tenant, ns);
    }
    if (p.size() == 6 && p[5] == "partitioned" && r.method == "GET") {
      return json_response(200, partitioned_in(persistent, tenant, ns));
    }
    auto t = wire::parse_topic_name(p[2] + "://" + tenant + "/" + ns + "/" + p[5]);
    if (!t) return error_response(400, "Invalid topic name: " + p[5]);
    const bool force = flag(r, "force");
    if (p.size() == 6) {
      if (r.method == "PUT") return create(*t);
      if (r.method == "DELETE") return remove(*t, force);
      return method_not_allowed("PUT, DELETE");
    }
    const std::string& action = p[6];
    if (p.size() == 7 && action == "partitions") {
      if (r.method == "PUT") return create_partitioned(*t, r.body);
      if (r.method == "POST") return grow_partitioned(*t, r.body);
      if (r.method == "GET") {
        return json_response(200, {{"partitions", partitions_of(*t)}, {"deleted", false}});
      }
      if (r.method == "DELETE") return remove_partitioned(*t, force);
      return method_not_allowed("GET, PUT, POST, DELETE");
    }
    if (p.size() == 7 &&
        (action == "stats" || action == "partitioned-stats" || action == "subscriptions" ||
         action == "internalStats" || action == "internal-info")) {
      if (r.method != "GET") return method_not_allowed("GET");
      if (action == "stats") return stats(*t);
      if (action == "internalStats") return internal_stats(*t);
      if (action == "internal-info") return internal_info(*t);
      if (action == "partitioned-stats")
        return partitioned_stats(*t, flag(r, "perPartition", true));
      return subscriptions(*t);
    }
    if (p.size() == 7 && action == "unload") {
      if (r.method != "PUT") return method_not_allowed("PUT");
      return unload(*t);
    }
    if (action == "terminate" && (p.size() == 7 || (p.size() == 8 && p[7] == "partitions"))) {
      if (r.method != "POST") return method_not_allowed("POST");
      if (!persistent) return error_response(406, "Need to provide a persistent topic name");
      return p.size() == 7 ? terminate(*t) : terminate_partitions(*t);
    }
    if (p.size() == 7 && action == "compaction") {
      if (r.method == "PUT") return compact(*t);
      if (r.method == "GET") return compaction_status(*t);
      return method_not_allowed("GET, PUT");
    }
    if (p.size() == 8 && action == "subscription" && r.method == "DELETE") {
      return remove_subscription(*t, p[7], force);
    }
    const auto parts = topics_of(*t);
    if (auto answered = cursor_routes(topics_, r, parts)) return std::move(*answered);
    if (auto answered = message_routes(topics_, r, parts)) return std::move(*answered);
    return not_implemented(r);
  }

  int partitions_of(const wire::topic_name& t) const {
    if (t.partition >= 0) return 0;
    return topics_.partitions(t.str()).value_or(0);
  }

  bool exists(const wire::topic_name& t) const { return topics_.exists(t); }

  // The topics a name stands for: the partitions of a partitioned topic, else the topic itself
  // when it exists.
  std::vector<wire::topic_name> topics_of(const wire::topic_name& t) const {
    std::vector<wire::topic_name> out;
    const int n = partitions_of(t);
    for (int i = 0; i < n; ++i) out.push_back(t.partition_of(i));
    if (n == 0 && exists(t)) out.push_back(t);
    return out;
  }

  json partitioned_in(bool persistent, const std::string& tenant, const std::string& ns) const {
    return json(topics_.partitioned(persistent, tenant, ns));
  }

  http_response list(bool persistent, const std::string& tenant, const std::string& ns) {
    return json_response(200, json(topics_.list_domain(persistent, tenant, ns)));
  }

  http_response create(const wire::topic_name& t) {
    wire::topic_name base = t;
    base.partition = -1;
    if (partitions_of(base) > 0 || exists(t))
      return error_response(409, "This topic already exists");
    auto loaded = topics_.get(t.str(), topic_registry::creation::requested);
    if (!loaded) return error_of(loaded.error());
    spdlog::info("admin: created topic {}", t.str());
    return no_content();
  }

  http_response remove(const wire::topic_name& t, bool force) {
    if (partitions_of(t) > 0) {
      return error_response(409, "Topic is partitioned: delete it with DELETE .../partitions");
    }
    if (!exists(t)) return error_response(404, "Topic not found");
    auto loaded = topics_.get(t.str());
    if (!loaded) return error_of(loaded.error());
    if (!force && has_clients(**loaded)) {
      return error_response(412, "Topic has active producers/subscriptions");
    }
    if (auto ok = topics_.remove(t.str()); !ok) return error_of(ok.error());
    spdlog::info("admin: deleted topic {}", t.str());
    return no_content();
  }

  // The partition count in a request's body, or the answer that refuses it.
  static tl::expected<int, http_response> partition_count(const std::string& body) {
    const json n = json::parse(trim(body, " \t\r\n"), nullptr, false);
    if (n.is_discarded() || !n.is_number_integer()) {
      return tl::unexpected(error_response(400, "The body must be the number of partitions"));
    }
    // Positive numbers parse as unsigned, negative ones as signed.
    const long long count = n.is_number_unsigned()
                                ? static_cast<long long>(std::min<std::uint64_t>(
                                      n.get<std::uint64_t>(), max_partitions + 1))
                                : n.get<long long>();
    if (count <= 0) {
      return tl::unexpected(error_response(406, "Number of partitions should be more than 0"));
    }
    if (count > max_partitions) {
      return tl::unexpected(error_response(
          412,
          fmt::format("Number of partitions should be less than or equal to {}", max_partitions)));
    }
    return static_cast<int>(count);
  }

  http_response create_partitioned(const wire::topic_name& t, const std::string& body) {
    if (t.partition >= 0) {
      return error_response(412, "Partitioned topic name should not contain '-partition-'");
    }
    auto count = partition_count(body);
    if (!count) return std::move(count.error());
    if (partitions_of(t) > 0 || exists(t)) return error_response(409, "This topic already exists");
    if (auto ok = topics_.create_partitioned(t.str(), *count); !ok) return error_of(ok.error());
    spdlog::info("admin: created partitioned topic {} with {} partitions", t.str(), *count);
    return no_content();
  }

  // update-partitioned-topic: more partitions, never fewer. Clients see them when they next ask
  // for the topic's metadata (the official ones do every minute: autoUpdatePartitions).
  http_response grow_partitioned(const wire::topic_name& t, const std::string& body) {
    auto count = partition_count(body);
    if (!count) return std::move(count.error());
    const int current = partitions_of(t);
    if (current == 0) {
      return error_response(409, "Topic " + t.str() + " is not the partitioned topic.");
    }
    if (*count < current) {
      return error_response(422, fmt::format("Desired partitions {} can't be less than the "
                                             "current partitions {}.",
                                             *count, current));
    }
    if (*count == current) return no_content();
    if (auto ok = topics_.grow_partitioned(t.str(), *count); !ok) return error_of(ok.error());
    spdlog::info("admin: partitioned topic {} grown from {} to {} partitions", t.str(), current,
                 *count);
    return no_content();
  }

  http_response remove_partitioned(const wire::topic_name& t, bool force) {
    const int n = partitions_of(t);
    if (n == 0) return error_response(404, "Partitioned topic does not exist");
    if (!force) {
      for (int i = 0; i < n; ++i) {
        auto it = topics_.loaded().find(t.partition_of(i).str());
        if (it != topics_.loaded().end() && has_clients(*it->second)) {
          return error_response(412, "Topic has active producers/subscriptions");
        }
      }
    }
    if (auto ok = topics_.remove(t.str()); !ok) return error_of(ok.error());
    spdlog::info("admin: deleted partitioned topic {}", t.str());
    return no_content();
  }

  http_response unload(const wire::topic_name& t) {
    const auto parts = topics_of(t);
    if (parts.empty()) return error_response(404, "Topic not found");
    for (const auto& part : parts) {
      if (topics_.unload(part)) spdlog::info("admin: unloaded topic {}", part.str());
    }
    return no_content();
  }

  // Pulsar's MessageId as its admin API writes it: the partition index is always -1 there.
  static json terminated_at(const wire::message_id& id) {
    return {{"ledgerId", id.ledger},
            {"entryId", id.entry},
            {"partitionIndex", -1},
            {"batchIndex", -1},
            {"batchSize", 0}};
  }

  http_response terminate(const wire::topic_name& t) {
    auto loaded =
        one_topic(t, error_response(405, "Termination of a partitioned topic is not allowed"));
    if (!loaded) return std::move(loaded.error());
    auto last = (*loaded)->terminate();
    if (!last) return error_of(last.error());
    return json_response(200, terminated_at(*last));
  }

  http_response terminate_partitions(const wire::topic_name& t) {
    const int n = partitions_of(t);
    if (n == 0) {
      return error_response(405,
                            "Termination of a non-partitioned topic is not allowed using "
                            "partitioned-terminate, please use terminate commands");
    }
    json ids = json::object();
    for (int i = 0; i < n; ++i) {
      auto part = topics_.get(t.partition_of(i).str());
      if (!part) return error_of(part.error());
      auto last = (*part)->terminate();
      if (!last) return error_of(last.error());
      ids[std::to_string(i)] = terminated_at(*last);
    }
    return json_response(200, ids);
  }

  static http_response topic_not_found(const wire::topic_name& t) {
    return error_response(404, "Topic " + t.str() + " not found");
  }

  // `topics compact`: each partition of a partitioned topic, as Pulsar does. Answered once the
  // compactions have started; `compaction-status` follows them.
  http_response compact(const wire::topic_name& t) {
    const auto parts = topics_of(t);
    if (parts.empty() || !t.persistent) return topic_not_found(t);
    for (const auto& part : parts) {
      auto loaded = topics_.get(part.str());
      if (!loaded) return error_of(loaded.error());
      auto started = (*loaded)->compact();
      if (started) continue;
      if (started.error() == std::errc::operation_in_progress) {
        return error_response(409, "Compaction already in progress");
      }
      return error_of(started.error());
    }
    return no_content();
  }

  http_response compaction_status(const wire::topic_name& t) {
    if (!t.persistent || !exists(t)) return topic_not_found(t);
    auto loaded = one_topic(t, topic_not_found(t));
    if (!loaded) return std::move(loaded.error());
    const auto& last = (*loaded)->compaction();
    return json_response(200, {{"status", last.status_name()}, {"lastError", last.last_error}});
  }

  // A topic that is not partitioned, loaded; or the answer refusing `partitioned`, or one not
  // found.
  tl::expected<std::shared_ptr<topic>, http_response> one_topic(const wire::topic_name& t,
                                                                http_response partitioned) {
    if (partitions_of(t) > 0) return tl::unexpected(std::move(partitioned));
    if (!exists(t)) return tl::unexpected(error_response(404, "Topic not found"));
    auto loaded = topics_.get(t.str());
    if (!loaded) return tl::unexpected(error_of(loaded.error()));
    return *loaded;
  }

  http_response stats(const wire::topic_name& t) {
    auto loaded =
        one_topic(t, error_response(404, "Topic is partitioned: ask for .../partitioned-stats"));
    if (!loaded) return std::move(loaded.error());
    return json_response(200, topic_stats_json(**loaded, rates_, owner()));
  }

  http_response internal_stats(const wire::topic_name& t) {
    auto loaded = one_topic(
        t, error_response(405, "Topic is partitioned: ask a partition for its internal stats"));
    if (!loaded) return std::move(loaded.error());
    return json_response(200, topic_internal_stats_json(**loaded));
  }

  // A partitioned topic's is each partition's, by name.
  http_response internal_info(const wire::topic_name& t) {
    const auto parts = topics_of(t);
    if (parts.empty()) return error_response(404, "Topic not found");
    json by_partition = json::object();
    for (const auto& part : parts) {
      auto loaded = topics_.get(part.str());
      if (!loaded) return error_of(loaded.error());
      std::error_code ec;
      const auto changed = std::filesystem::last_write_time(
          storage::topic_dir(broker_.context().options.data_dir, part), ec);
      const auto ms = ec ? 0
                         : std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::file_clock::to_sys(changed).time_since_epoch())
                               .count();
      by_partition[part.str()] =
          topic_internal_info_json(**loaded, static_cast<std::uint64_t>(std::max<long>(ms, 0)));
    }
    if (partitions_of(t) == 0) return json_response(200, by_partition.begin().value());
    return json_response(200, {{"version", 0}, {"partitions", std::move(by_partition)}});
  }

  // host:port of the admin API, as Pulsar names a broker.
  std::string owner() const { return authority_of(broker_.admin_url()); }

  http_response partitioned_stats(const wire::topic_name& t, bool per_partition) {
    const int n = partitions_of(t);
    if (n == 0) return error_response(404, "Partitioned topic does not exist");
    json total = {{"msgRateIn", 0.0},
                  {"msgThroughputIn", 0.0},
                  {"msgRateOut", 0.0},
                  {"msgInCounter", 0},
                  {"bytesInCounter", 0},
                  {"msgOutCounter", 0},
                  {"bytesOutCounter", 0},
                  {"storageSize", 0},
                  {"backlogSize", 0},
                  {"publishers", json::array()},
                  {"subscriptions", json::object()},
                  {"metadata", {{"partitions", n}}}};
    json partitions = json::object();
    for (int i = 0; i < n; ++i) {
      auto loaded = topics_.get(t.partition_of(i).str());
      if (!loaded) return error_of(loaded.error());
      json part = topic_stats_json(**loaded, rates_, owner());
      add_stats(total, part);
      if (per_partition) partitions[(*loaded)->name()] = std::move(part);
    }
    const double rate_in = total["msgRateIn"].get<double>();
    total["averageMsgSize"] = rate_in > 0 ? total["msgThroughputIn"].get<double>() / rate_in : 0.0;
    if (per_partition) total["partitions"] = std::move(partitions);
    return json_response(200, total);
  }

  http_response subscriptions(const wire::topic_name& t) {
    const auto parts = topics_of(t);
    if (parts.empty()) return error_response(404, "Topic not found");
    std::set<std::string> names;
    for (const auto& part : parts) {
      auto loaded = topics_.get(part.str());
      if (!loaded) return error_of(loaded.error());
      for (const auto& [name, sub] : (*loaded)->subscriptions()) names.insert(name);
    }
    return json_response(200, json(names));
  }

  http_response remove_subscription(const wire::topic_name& t, const std::string& name,
                                    bool force) {
    const auto parts = topics_of(t);
    if (parts.empty()) return error_response(404, "Topic not found");
    std::vector<std::pair<std::shared_ptr<topic>, subscription*>> found;
    for (const auto& part : parts) {
      auto loaded = topics_.get(part.str());
      if (!loaded) return error_of(loaded.error());
      if (auto* sub = (*loaded)->find_subscription(name)) found.emplace_back(*loaded, sub);
    }
    if (found.empty()) return error_response(404, "Subscription not found");
    if (!force) {
      for (const auto& [owner, sub] : found) {
        if (!sub->consumers().empty()) {
          return error_response(412, "Subscription has active connected consumers");
        }
      }
    }
    for (const auto& [owner, sub] : found) {
      sub->disconnect_all();
      if (auto ok = owner->delete_subscription(name); !ok) return error_of(ok.error());
    }
    spdlog::info("admin: deleted subscription {} of {}", name, t.str());
    return no_content();
  }

  broker& broker_;
  topic_registry& topics_;
  rates_view rates_;
};

}  // namespace

// ------------------------------------------------------------------------------ admin_server

admin_server::admin_server(broker& owner)
    : owner_(owner), sample_timer_(owner.context().executor) {}

std::unique_ptr<admin_server> admin_server::start_in_process(broker& owner) {
  std::unique_ptr<admin_server> s(new admin_server(owner));
  s->sample(rate_meter::clock::now());
  asio::co_spawn(owner.context().executor, s->sample_loop(), asio::detached);
  return s;
}

std::optional<asio::ip::tcp::endpoint> admin_server::endpoint() const {
  if (!http_) return std::nullopt;
  return http_->endpoint();
}

result<std::unique_ptr<admin_server>> admin_server::start(broker& owner,
                                                          const asio::ip::tcp::endpoint& at) {
  std::unique_ptr<admin_server> s(new admin_server(owner));
  // The http_server never calls the handler after stop(), which ~admin_server calls first.
  http::http_server::handler handle = [self = s.get()](const http_request& r) {
    return self->handle(r);
  };
  auto http = http::http_server::start(owner.context().executor, at, std::move(handle));
  if (!http) return fail(http.error());
  s->http_ = std::move(*http);
  s->sample(rate_meter::clock::now());
  asio::co_spawn(owner.context().executor, s->sample_loop(), asio::detached);
  spdlog::info("admin API on {}", s->url());
  return s;
}

result<void> admin_server::serve_tls(const asio::ip::tcp::endpoint& at,
                                     std::shared_ptr<asio::ssl::context> tls) {
  http::http_server::handler handle = [self = this](const http_request& r) {
    return self->handle(r);
  };
  auto https = http::http_server::start(owner_.context().executor, at, std::move(handle), {},
                                        std::move(tls));
  if (!https) return fail(https.error());
  https_ = std::move(*https);
  spdlog::info("admin API on {}", https_->url());
  return {};
}

admin_server::~admin_server() {
  stop();
}

void admin_server::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (http_) http_->stop();
  if (https_) https_->stop();
  sample_timer_.cancel();
}

http_response admin_server::handle(const http_request& request) {
  try {
    api a(owner_, rates_view{.messages_in = meters_.messages_in,
                             .bytes_in = meters_.bytes_in,
                             .messages_out = meters_.messages_out});
    http_response response = a.handle(request);
    spdlog::debug("admin: {} {} -> {}", request.method, request.target, response.status);
    return response;
  } catch (const std::exception& e) {
    spdlog::error("admin: {} {} failed: {}", request.method, request.target, e.what());
    return error_response(500, std::string("internal error: ") + e.what());
  }
}

void admin_server::sample(rate_meter::clock::time_point now) {
  for (const auto& [name, t] : owner_.topics().loaded()) {
    meters_.messages_in.sample(name, t->stats().messages_in, now);
    meters_.bytes_in.sample(name, t->stats().bytes_in, now);
    for (const auto& [sub_name, sub] : t->subscriptions()) {
      meters_.messages_out.sample(subscription_key(name, sub_name), sub->messages_out(), now);
    }
  }
  meters_.messages_in.forget_before(now);
  meters_.bytes_in.forget_before(now);
  meters_.messages_out.forget_before(now);
}

awaitable<void> admin_server::sample_loop() {
  while (!stopped_) {
    sample_timer_.expires_after(sample_interval);
    std::error_code ec;
    co_await sample_timer_.async_wait(redirect_error(use_awaitable, ec));
    if (stopped_) break;
    sample(rate_meter::clock::now());
  }
}

}  // namespace shfn::broker
