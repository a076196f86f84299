#include "broker/admin.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "base/log.h"
#include "base/notifier.h"
#include "base/strings.h"
#include "broker/broker.h"
#include "broker/context.h"
#include "broker/registry.h"
#include "broker/subscription.h"
#include "broker/topic.h"
#include "wire/errc.h"
#include "wire/topic_name.h"

namespace shfn::broker {

namespace fs = std::filesystem;
namespace pb = wire::pb;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using json = nlohmann::json;

namespace {

constexpr auto request_timeout = std::chrono::seconds(60);
constexpr auto sample_interval = std::chrono::seconds(1);
// After the last answer on a connection: how long, and how much, to read and discard what the
// client still sends, so that closing does not reset the connection before it read the answer.
constexpr auto linger_timeout = std::chrono::seconds(2);
constexpr std::size_t linger_max_bytes = 4 << 20;
constexpr std::size_t read_chunk = 16 << 10;
// More partitions than this is a typo; each loaded partition holds open files.
constexpr long long max_partitions = 1000;

// ------------------------------------------------------------------------------ HTTP

class http_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "http"; }
  std::string message(int status) const override {
    switch (static_cast<http_errc>(status)) {
      case http_errc::bad_request:
        return "malformed HTTP request";
      case http_errc::content_too_large:
        return "request body too large";
      case http_errc::header_fields_too_large:
        return "request header fields too large";
      case http_errc::not_implemented:
        return "not implemented (request bodies need a Content-Length)";
      case http_errc::version_not_supported:
        return "HTTP version not supported";
    }
    return "HTTP status " + std::to_string(status);
  }
};

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s, std::string_view blanks = " \t") {
  const auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_version(std::string_view v) {
  return v.size() == 8 && v.starts_with("HTTP/") &&
         std::isdigit(static_cast<unsigned char>(v[5])) && v[6] == '.' &&
         std::isdigit(static_cast<unsigned char>(v[7]));
}

// Splits the target into path segments and query parameters, percent-decoded.
result<void> parse_target(std::string_view target, http_request& r) {
  if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  std::string_view path = target;
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  auto segments = split(path.substr(1), '/');
  if (!segments.empty() && segments.back().empty()) segments.pop_back();  // "/metrics/"
  for (auto segment : segments) {
    auto decoded = percent_decode(segment, false);
    if (!decoded) return fail(http_errc::bad_request);
    r.path.push_back(std::move(*decoded));
  }
  for (auto param : split(query, '&')) {
    if (param.empty()) continue;
    const auto eq = param.find('=');
    auto key = percent_decode(param.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : param.substr(eq + 1), true);
    if (!key || !value) return fail(http_errc::bad_request);
    r.query[*key] = std::move(*value);
  }
  return {};
}

// ------------------------------------------------------------------------------ responses

std::string dump(const json& j) {
  // Topic and subscription names are bytes, not necessarily UTF-8: replace, never throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

http_response json_response(int status, const json& body) {
  return {.status = status, .body = dump(body)};
}

http_response no_content() {
  return {.status = 204};
}

http_response error_response(int status, const std::string& reason) {
  return json_response(status, json{{"reason", reason}});
}

http_response method_not_allowed(std::string allow) {
  http_response r = error_response(405, "method not allowed");
  r.fields.emplace_back("Allow", std::move(allow));
  return r;
}

http_response not_found() {
  return error_response(404, "not found");
}

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
  return error_response(status_of(ec), ec.message());
}

bool flag(const http_request& r, const std::string& name, bool fallback = false) {
  auto it = r.query.find(name);
  if (it == r.query.end()) return fallback;
  return lower(it->second) == "true";
}

// ------------------------------------------------------------------------------ stats

struct rates_view {
  const rate_meter& messages_in;
  const rate_meter& bytes_in;
  const rate_meter& messages_out;
};

std::string subscription_key(const std::string& topic, const std::string& subscription) {
  return topic + '\0' + subscription;  // no topic name contains NUL
}

std::uint64_t unacked_of(const consumer& c) {
  std::uint64_t n = 0;
  for (const auto& [offset, sent] : c.unacked) n += static_cast<std::uint64_t>(sent.messages);
  return n;
}

bool has_clients(const topic& t) {
  if (t.producer_count() > 0) return true;
  return std::ranges::any_of(t.subscriptions(),
                             [](const auto& entry) { return !entry.second->consumers().empty(); });
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
  const auto& loaded = b.topics().loaded();
  std::string out;
  auto family = [&out](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto topic_label = [](const topic& t) {
    return fmt::format("topic=\"{}\"", escape_label_value(t.name()));
  };

  family("shfn_broker_topics", "gauge", "Topics (partitions counted one by one) loaded.");
  out += fmt::format("shfn_broker_topics {}\n", loaded.size());
  family("shfn_broker_connections", "gauge", "Open Pulsar-protocol client connections.");
  out += fmt::format("shfn_broker_connections {}\n", b.connection_count());

  struct topic_series {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t (*value)(const topic&);
  };
  const topic_series per_topic[] = {
      {"shfn_topic_messages_in_total", "counter", "Messages published to the topic.",
       [](const topic& t) { return t.stats().messages_in; }},
      {"shfn_topic_bytes_in_total", "counter", "Payload bytes published to the topic.",
       [](const topic& t) { return t.stats().bytes_in; }},
      {"shfn_topic_storage_bytes", "gauge", "Bytes of the topic's log on disk.",
       [](const topic& t) { return t.storage_size(); }},
      {"shfn_topic_producers", "gauge", "Producers connected to the topic.",
       [](const topic& t) { return static_cast<std::uint64_t>(t.producer_count()); }},
  };
  for (const auto& series : per_topic) {
    family(series.name, series.type, series.help);
    for (const auto& [name, t] : loaded) {
      out += fmt::format("{}{{{}}} {}\n", series.name, topic_label(*t), series.value(*t));
    }
  }

  struct subscription_series {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t (*value)(const subscription&);
  };
  const subscription_series per_subscription[] = {
      {"shfn_subscription_backlog", "gauge", "Entries not yet acknowledged.",
       [](const subscription& s) { return s.backlog(); }},
      {"shfn_subscription_unacked_messages", "gauge",
       "Messages sent to consumers and not acknowledged yet.",
       [](const subscription& s) { return s.unacked_messages(); }},
      {"shfn_subscription_messages_out_total", "counter",
       "Messages sent to the subscription's connected consumers.",
       [](const subscription& s) { return s.messages_out(); }},
      {"shfn_subscription_consumers", "gauge", "Consumers connected to the subscription.",
       [](const subscription& s) { return static_cast<std::uint64_t>(s.consumers().size()); }},
  };
  for (const auto& series : per_subscription) {
    family(series.name, series.type, series.help);
    for (const auto& [name, t] : loaded) {
      for (const auto& [sub_name, sub] : t->subscriptions()) {
        out += fmt::format("{}{{{},subscription=\"{}\"}} {}\n", series.name, topic_label(*t),
                           escape_label_value(sub_name), series.value(*sub));
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ the API

// One request against the broker's registry. Short-lived: made per request.
class api {
 public:
  api(broker& b, rates_view rates)
      : broker_(b), topics_(b.topics()), data_dir_(b.context().options.data_dir), rates_(rates) {}

  http_response handle(const http_request& r) {
    const auto& p = r.path;
    const bool health = p.size() == 4 && p[0] == "admin" && p[2] == "brokers" && p[3] == "health";
    if (!health && !authorized(r)) {
      return error_response(401, "Authentication required: Authorization: Bearer <token>");
    }
    if (p.size() == 1 && p[0] == "metrics") {
      if (r.method != "GET") return method_not_allowed("GET");
      return {.status = 200,
              .content_type = "text/plain; version=0.0.4; charset=utf-8",
              .body = render_metrics(broker_)};
    }
    if (p.size() < 3 || p[0] != "admin" || p[1] != "v2") return not_found();
    if (p.size() == 4 && p[2] == "brokers" && p[3] == "health") {
      if (r.method != "GET") return method_not_allowed("GET");
      return {.status = 200, .content_type = "text/plain", .body = "ok"};
    }
    if (p.size() >= 5 && (p[2] == "persistent" || p[2] == "non-persistent")) return topics(r);
    return not_found();
  }

 private:
  // With token authentication on, every request but the health check needs a valid token.
  bool authorized(const http_request& r) const {
    const auto& auth = broker_.context().authenticator;
    if (!auth) return true;
    auto field = r.fields.find("authorization");
    constexpr std::string_view scheme = "Bearer ";
    if (field == r.fields.end() || !field->second.starts_with(scheme)) return false;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return auth->verify(std::string_view(field->second).substr(scheme.size()), now).has_value();
  }

  // /admin/v2/{domain}/{tenant}/{ns}[/{topic}[/{action}[/{name}]]]
  http_response topics(const http_request& r) {
    const auto& p = r.path;
    const bool persistent = p[2] == "persistent";
    const std::string& tenant = p[3];
    const std::string& ns = p[4];
    auto probe = wire::parse_topic_name(p[2] + "://" + tenant + "/" + ns + "/probe");
    if (!probe) return error_response(400, "Invalid namespace name: " + tenant + "/" + ns);
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
      if (r.method == "GET") return json_response(200, {{"partitions", partitions_of(*t)}});
      if (r.method == "DELETE") return remove_partitioned(*t, force);
      return method_not_allowed("GET, PUT, DELETE");
    }
    if (p.size() == 7 &&
        (action == "stats" || action == "partitioned-stats" || action == "subscriptions")) {
      if (r.method != "GET") return method_not_allowed("GET");
      if (action == "stats") return stats(*t);
      if (action == "partitioned-stats")
        return partitioned_stats(*t, flag(r, "perPartition", true));
      return subscriptions(*t);
    }
    if (p.size() == 8 && action == "subscription") {
      if (r.method != "DELETE") return method_not_allowed("DELETE");
      return remove_subscription(*t, p[7], force);
    }
    return not_found();
  }

  int partitions_of(const wire::topic_name& t) const {
    if (t.partition >= 0) return 0;
    return topics_.partitions(t.str()).value_or(0);
  }

  // Loaded, or on disk, or a partition of a partitioned topic.
  bool exists(const wire::topic_name& t) const {
    if (topics_.loaded().contains(t.str())) return true;
    std::error_code ec;
    if (t.persistent && fs::exists(topic_dir(data_dir_, t), ec)) return true;
    if (t.partition < 0) return false;
    wire::topic_name base = t;
    base.partition = -1;
    return t.partition < partitions_of(base);
  }

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
    const wire::topic_name probe{
        .persistent = persistent, .tenant = tenant, .ns = ns, .local = "probe"};
    const fs::path dir = partitions_file(data_dir_, probe).parent_path();
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string file = entry.path().filename().string();
      constexpr std::string_view suffix = ".partitions";
      if (!entry.is_regular_file(ec) || !file.ends_with(suffix)) continue;
      wire::topic_name t = probe;
      try {
        t.local = decode_path_component(file.substr(0, file.size() - suffix.size()));
      } catch (const std::exception&) {
        continue;  // not a name we wrote
      }
      if (partitions_of(t) > 0) names.insert(t.str());
    }
    return json(names);
  }

  http_response list(bool persistent, const std::string& tenant, const std::string& ns) {
    const std::string prefix = persistent ? "persistent://" : "non-persistent://";
    std::set<std::string> names;
    for (auto& name : topics_.list(tenant, ns)) {
      if (name.starts_with(prefix)) names.insert(std::move(name));
    }
    // As Pulsar lists them: every partition of a partitioned topic, with data or not yet.
    for (const auto& base : partitioned_in(persistent, tenant, ns)) {
      auto t = wire::parse_topic_name(base.get<std::string>());
      if (!t) continue;
      for (const auto& part : topics_of(*t)) names.insert(part.str());
    }
    return json_response(200, json(names));
  }

  http_response create(const wire::topic_name& t) {
    wire::topic_name base = t;
    base.partition = -1;
    if (partitions_of(base) > 0 || exists(t))
      return error_response(409, "This topic already exists");
    auto loaded = topics_.get(t.str());
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

  http_response create_partitioned(const wire::topic_name& t, const std::string& body) {
    if (t.partition >= 0) {
      return error_response(412, "Partitioned topic name should not contain '-partition-'");
    }
    const json n = json::parse(trim(body, " \t\r\n"), nullptr, false);
    if (n.is_discarded() || !n.is_number_integer()) {
      return error_response(400, "The body must be the number of partitions");
    }
    // Positive numbers parse as unsigned, negative ones as signed.
    const long long count = n.is_number_unsigned()
                                ? static_cast<long long>(std::min<std::uint64_t>(
                                      n.get<std::uint64_t>(), max_partitions + 1))
                                : n.get<long long>();
    if (count <= 0) return error_response(406, "Number of partitions should be more than 0");
    if (count > max_partitions) {
      return error_response(
          412,
          fmt::format("Number of partitions should be less than or equal to {}", max_partitions));
    }
    if (partitions_of(t) > 0 || exists(t)) return error_response(409, "This topic already exists");
    if (auto ok = topics_.create_partitioned(t.str(), static_cast<int>(count)); !ok) {
      return error_of(ok.error());
    }
    spdlog::info("admin: created partitioned topic {} with {} partitions", t.str(), count);
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

  http_response stats(const wire::topic_name& t) {
    if (partitions_of(t) > 0) {
      return error_response(404, "Topic is partitioned: ask for .../partitioned-stats");
    }
    if (!exists(t)) return error_response(404, "Topic not found");
    auto loaded = topics_.get(t.str());
    if (!loaded) return error_of(loaded.error());
    return json_response(200, topic_stats_json(**loaded, rates_));
  }

  http_response partitioned_stats(const wire::topic_name& t, bool per_partition) {
    const int n = partitions_of(t);
    if (n == 0) return error_response(404, "Partitioned topic does not exist");
    json total = {{"msgRateIn", 0.0},
                  {"msgThroughputIn", 0.0},
                  {"msgRateOut", 0.0},
                  {"msgInCounter", 0},
                  {"bytesInCounter", 0},
                  {"msgOutCounter", 0},
                  {"storageSize", 0},
                  {"publishers", json::array()},
                  {"subscriptions", json::object()},
                  {"metadata", {{"partitions", n}}}};
    json partitions = json::object();
    for (int i = 0; i < n; ++i) {
      auto loaded = topics_.get(t.partition_of(i).str());
      if (!loaded) return error_of(loaded.error());
      json part = topic_stats_json(**loaded, rates_);
      add_stats(total, part);
      if (per_partition) partitions[(*loaded)->name()] = std::move(part);
    }
    const auto messages = total["msgInCounter"].get<std::uint64_t>();
    total["averageMsgSize"] =
        messages == 0 ? 0.0
                      : static_cast<double>(total["bytesInCounter"].get<std::uint64_t>()) /
                            static_cast<double>(messages);
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
  const fs::path& data_dir_;
  rates_view rates_;
};

}  // namespace

// ------------------------------------------------------------------------------ sans-I/O HTTP

const std::error_category& http_category() {
  static const http_category_impl category;
  return category;
}

std::size_t find_head_end(std::string_view data) {
  for (auto i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
    if (i + 1 < data.size() && data[i + 1] == '\n') return i + 2;
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

result<http_request> parse_request_head(std::string_view head, const http_limits& limits) {
  if (head.size() > limits.max_head) return fail(http_errc::header_fields_too_large);
  std::vector<std::string_view> lines;
  for (auto line : split(head, '\n')) {
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return fail(http_errc::bad_request);

  http_request r;
  const auto request_line = split(lines[0], ' ');
  if (request_line.size() != 3) return fail(http_errc::bad_request);
  const std::string_view method = request_line[0];
  const std::string_view target = request_line[1];
  const std::string_view version = request_line[2];
  if (method.empty() || method.size() > 32 || !std::ranges::all_of(method, is_tchar)) {
    return fail(http_errc::bad_request);
  }
  const auto visible = [](char c) { return static_cast<unsigned char>(c) > ' ' && c != 0x7f; };
  if (!target.starts_with('/') || !std::ranges::all_of(target, visible)) {
    return fail(http_errc::bad_request);
  }
  if (version == "HTTP/1.1") {
    r.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    r.minor_version = 0;
  } else if (is_version(version)) {
    return fail(http_errc::version_not_supported);
  } else {
    return fail(http_errc::bad_request);
  }
  r.method = method;
  r.target = target;

  bool has_length = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    // Empty lines end a head; folded (obsolete) lines are refused, as RFC 9112 allows.
    if (line.empty() || line.front() == ' ' || line.front() == '\t') {
      return fail(http_errc::bad_request);
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(http_errc::bad_request);
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (!std::ranges::all_of(name, is_tchar)) return fail(http_errc::bad_request);
    const auto control = [](char c) {
      return (static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f;
    };
    if (std::ranges::any_of(value, control)) return fail(http_errc::bad_request);
    std::string key = lower(name);
    if (key == "content-length") {
      if (value.empty() || !std::ranges::all_of(value, [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0;
          })) {
        return fail(http_errc::bad_request);
      }
      if (value.size() > 15) return fail(http_errc::content_too_large);
      const auto length = static_cast<std::size_t>(std::stoull(std::string(value)));
      if (has_length && length != r.content_length) return fail(http_errc::bad_request);
      has_length = true;
      r.content_length = length;
    }
    auto [it, added] = r.fields.emplace(std::move(key), value);
    if (!added && it->first != "content-length") {
      it->second += ", ";
      it->second += value;
    }
  }
  if (r.fields.contains("transfer-encoding")) return fail(http_errc::not_implemented);
  if (r.content_length > limits.max_body) return fail(http_errc::content_too_large);

  bool close = false;
  bool keep_alive = false;
  if (auto it = r.fields.find("connection"); it != r.fields.end()) {
    for (auto token : split(it->second, ',')) {
      const std::string t = lower(trim(token));
      close = close || t == "close";
      keep_alive = keep_alive || t == "keep-alive";
    }
  }
  r.keep_alive = !close && (r.minor_version == 1 || keep_alive);
  if (auto it = r.fields.find("expect"); it != r.fields.end()) {
    r.expect_continue = lower(it->second) == "100-continue";
  }
  if (auto ok = parse_target(target, r); !ok) return fail(ok.error());
  return r;
}

std::string serialize(const http_response& response, bool keep_alive) {
  std::string out =
      fmt::format("HTTP/1.1 {} {}\r\n", response.status, reason_phrase(response.status));
  const bool has_body = response.status >= 200 && response.status != 204 && response.status != 304;
  if (has_body) {
    out += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", response.content_type,
                       response.body.size());
  }
  for (const auto& [name, value] : response.fields) out += fmt::format("{}: {}\r\n", name, value);
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (has_body) out += response.body;
  return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
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

// ------------------------------------------------------------------------------ admin_server

struct admin_server::connection {
  explicit connection(asio::ip::tcp::socket s)
      : socket(std::move(s)), deadline(socket.get_executor()) {}

  // Closes the connection unless arm() is called again within `d`.
  static void arm(const std::shared_ptr<connection>& c, std::chrono::steady_clock::duration d) {
    c->deadline.expires_after(d);
    c->deadline.async_wait([weak = std::weak_ptr<connection>(c)](std::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      if (self->deadline.expiry() <= std::chrono::steady_clock::now()) self->close();
    });
  }

  void close() {
    std::error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    deadline.cancel();
  }

  asio::ip::tcp::socket socket;
  asio::steady_timer deadline;
  std::string input;  // received, not yet consumed
};

admin_server::admin_server(broker& owner, asio::ip::tcp::acceptor acceptor)
    : owner_(owner), acceptor_(std::move(acceptor)), sample_timer_(owner.context().executor) {}

result<std::unique_ptr<admin_server>> admin_server::start(broker& owner,
                                                          const asio::ip::tcp::endpoint& at) {
  asio::ip::tcp::acceptor acceptor(owner.context().executor);
  std::error_code ec;
  acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec);
  std::unique_ptr<admin_server> s(new admin_server(owner, std::move(acceptor)));
  s->endpoint_ = s->acceptor_.local_endpoint(ec);
  if (ec) return fail(ec);
  s->sample(rate_meter::clock::now());
  asio::co_spawn(owner.context().executor, s->accept_loop(), asio::detached);
  asio::co_spawn(owner.context().executor, s->sample_loop(), asio::detached);
  spdlog::info("admin API on {}", s->url());
  return s;
}

admin_server::~admin_server() {
  stop();
}

std::string admin_server::url() const {
  const auto address = endpoint_.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return "http://" + host + ":" + std::to_string(endpoint_.port());
}

void admin_server::stop() {
  if (stopped_) return;
  stopped_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  sample_timer_.cancel();
  for (auto& w : connections_) {
    if (auto c = w.lock()) c->close();
  }
  connections_.clear();
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

awaitable<void> admin_server::accept_loop() {
  while (!stopped_) {
    std::error_code ec;
    auto socket = co_await acceptor_.async_accept(redirect_error(use_awaitable, ec));
    if (stopped_) break;
    if (ec) {
      spdlog::warn("admin API: accept failed: {}", ec.message());
      co_await sleep_for(std::chrono::milliseconds(100));  // e.g. out of file descriptors
      continue;
    }
    auto c = std::make_shared<connection>(std::move(socket));
    std::erase_if(connections_, [](const auto& w) { return w.expired(); });
    connections_.push_back(c);
    asio::co_spawn(acceptor_.get_executor(), serve(std::move(c)), asio::detached);
  }
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

awaitable<void> admin_server::serve(std::shared_ptr<connection> c) {
  std::array<char, read_chunk> chunk{};
  while (!stopped_) {
    connection::arm(c, request_timeout);
    // The head. Blank lines before a request line are ignored (RFC 9112, 2.2).
    std::size_t head_end = std::string::npos;
    while (true) {
      const auto first = c->input.find_first_not_of("\r\n");
      c->input.erase(0, first == std::string::npos ? c->input.size() : first);
      head_end = find_head_end(c->input);
      if (head_end != std::string::npos || c->input.size() > limits_.max_head) break;
      std::error_code ec;
      const std::size_t n = co_await c->socket.async_read_some(asio::buffer(chunk),
                                                               redirect_error(use_awaitable, ec));
      if (ec || stopped_) {
        c->close();
        co_return;
      }
      c->input.append(chunk.data(), n);
    }
    if (head_end == std::string::npos || head_end > limits_.max_head) {
      http_response refused =
          error_response(431, make_error_code(http_errc::header_fields_too_large).message());
      co_await answer_and_close(c, std::move(refused));
      co_return;
    }
    auto request = parse_request_head(std::string_view(c->input).substr(0, head_end), limits_);
    if (!request) {
      const int status =
          request.error().category() == http_category() ? request.error().value() : 400;
      http_response refused = error_response(status, request.error().message());
      co_await answer_and_close(c, std::move(refused));
      co_return;
    }
    c->input.erase(0, head_end);

    // The body.
    if (request->expect_continue && c->input.size() < request->content_length) {
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      std::error_code ec;
      co_await asio::async_write(c->socket, asio::buffer(go_on.data(), go_on.size()),
                                 redirect_error(use_awaitable, ec));
      if (ec || stopped_) {
        c->close();
        co_return;
      }
    }
    while (c->input.size() < request->content_length) {
      std::error_code ec;
      const std::size_t n = co_await c->socket.async_read_some(asio::buffer(chunk),
                                                               redirect_error(use_awaitable, ec));
      if (ec || stopped_) {
        c->close();
        co_return;
      }
      c->input.append(chunk.data(), n);
    }
    request->body = c->input.substr(0, request->content_length);
    c->input.erase(0, request->content_length);

    http_response response = handle(*request);
    if (!request->keep_alive || stopped_) {
      co_await answer_and_close(c, std::move(response));
      co_return;
    }
    const std::string out = serialize(response, true);
    std::error_code ec;
    co_await asio::async_write(c->socket, asio::buffer(out), redirect_error(use_awaitable, ec));
    if (ec) break;
  }
  c->close();
}

awaitable<void> admin_server::answer_and_close(std::shared_ptr<connection> c,
                                               http_response response) {
  const std::string out = serialize(response, false);
  std::error_code ec;
  co_await asio::async_write(c->socket, asio::buffer(out), redirect_error(use_awaitable, ec));
  if (ec || stopped_) {
    c->close();
    co_return;
  }
  // Half-close, then drain: closing with unread input would reset the connection, and the
  // client could lose the answer (an oversized body it is still sending, say).
  c->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  connection::arm(c, linger_timeout);
  std::array<char, read_chunk> chunk{};
  std::size_t discarded = 0;
  while (discarded < linger_max_bytes && !stopped_) {
    const std::size_t n =
        co_await c->socket.async_read_some(asio::buffer(chunk), redirect_error(use_awaitable, ec));
    if (ec) break;
    discarded += n;
  }
  c->close();
}

}  // namespace shfn::broker
