// Cursor moves and a topic's last message id for the admin API (admin_cursors.h).
#include "broker/admin_cursors.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/clock.h"
#include "base/log.h"
#include "base/strings.h"
#include "broker/admin_responses.h"
#include "broker/registry.h"
#include "broker/subscription.h"
#include "broker/topic.h"

namespace shfn::broker {

using json = nlohmann::json;
using http::error_response;
using http::http_request;
using http::http_response;

namespace {

// Where a message id in a request's body points in `t`: Pulsar's latest (ledger INT64_MAX) is
// the end, its earliest (ledger -1) the start; an id of this topic's ledger is its entry.
std::optional<std::uint64_t> offset_named(const topic& t, const std::string& body) {
  const json id = json::parse(trim(body, " \t\r\n"), nullptr, false);
  if (!id.is_object() || !id.contains("ledgerId") || !id["ledgerId"].is_number_integer()) {
    return std::nullopt;
  }
  const auto ledger = id["ledgerId"].get<std::int64_t>();
  if (ledger == std::numeric_limits<std::int64_t>::max()) return t.durable_end();
  if (ledger < 0) return t.start_offset();
  if (ledger != t.ledger_id() || !id.contains("entryId") || !id["entryId"].is_number_integer()) {
    return std::nullopt;
  }
  const auto entry = id["entryId"].get<std::int64_t>();
  if (entry < 0) return t.start_offset();
  return std::clamp(static_cast<std::uint64_t>(entry), t.start_offset(), t.durable_end());
}

class cursor_api {
 public:
  cursor_api(topic_registry& topics, const http_request& r) : topics_(topics), r_(r) {}

  std::optional<http_response> route(const std::vector<wire::topic_name>& parts) {
    const auto& p = r_.path;  // admin v2 domain tenant ns topic action ...
    const std::string& action = p[6];
    if (p.size() == 7 && action == "lastMessageId") return last_message_id(parts);
    if (action != "subscription" || p.size() < 8) return std::nullopt;
    const std::string& sub = p[7];
    if (p.size() == 8 && r_.method == "PUT") return create(parts, sub);
    if (p.size() == 9 && p[8] == "skip_all") {
      return move(parts, sub, motion::skip, [](const topic& t, const subscription&) {
        return std::optional(t.durable_end());
      });
    }
    if (p.size() == 9 && p[8] == "resetcursor") {
      return move(parts, sub, motion::seek,
                  [this](const topic& t, const subscription&) { return offset_named(t, r_.body); });
    }
    if (p.size() != 10) return std::nullopt;
    const auto n = path_number<std::uint64_t>(p[9]);
    if (!n) return error_response(400, "Invalid number: " + p[9]);
    if (p[8] == "skip") {
      return move(parts, sub, motion::skip, [n](const topic& t, const subscription& s) {
        return std::optional(std::min(t.durable_end(), s.mark_delete() + *n));
      });
    }
    if (p[8] == "resetcursor") return move(parts, sub, motion::seek, published_since(*n));
    if (p[8] == "expireMessages") {
      const std::uint64_t now = now_ms();
      const std::uint64_t before = now > *n * 1000 ? now - *n * 1000 : 0;
      return move(parts, sub, motion::skip, published_since(before));
    }
    return std::nullopt;
  }

 private:
  using target = std::function<std::optional<std::uint64_t>(const topic&, const subscription&)>;
  // skip: forward only, consumers kept (subscription::skip_to); seek: anywhere, consumers closed
  // and subscribing again from there (subscription::seek), as Pulsar's reset-cursor.
  enum class motion { skip, seek };

  // The first entry published at or after `ms`.
  static target published_since(std::uint64_t ms) {
    return [ms](const topic& t, const subscription&) -> std::optional<std::uint64_t> {
      auto at = t.offset_at_time(ms);
      if (!at) return std::nullopt;
      return *at;
    };
  }

  http_response last_message_id(const std::vector<wire::topic_name>& parts) {
    if (r_.method != "GET") return method_not_allowed("GET");
    if (parts.empty()) {
      const auto& p = r_.path;
      return error_response(
          404, "Topic " + p[2] + "://" + p[3] + "/" + p[4] + "/" + p[5] + " not found");
    }
    if (parts.size() != 1) {
      return error_response(405, "lastMessageId is per partition: ask a partition");
    }
    auto t = topics_.get(parts.front().str());
    if (!t) return error_response(500, t.error().message());
    const wire::message_id id = (*t)->last_message_id();
    return json_response(200, {{"ledgerId", id.ledger},
                               {"entryId", id.entry},
                               {"partitionIndex", id.partition},
                               {"batchIndex", id.batch_index},
                               {"batchSize", id.batch_size}});
  }

  http_response create(const std::vector<wire::topic_name>& parts, const std::string& name) {
    if (parts.empty()) return error_response(404, "Topic not found");
    std::vector<std::shared_ptr<topic>> loaded;
    for (const auto& part : parts) {
      auto t = topics_.get(part.str());
      if (!t) return error_response(500, t.error().message());
      if ((*t)->find_subscription(name) != nullptr) {
        return error_response(409, "Subscription already exists for topic");
      }
      loaded.push_back(std::move(*t));
    }
    for (const auto& t : loaded) {
      std::uint64_t at = t->durable_end();  // latest, unless the body names a message
      if (!trim(r_.body, " \t\r\n").empty()) {
        auto named = offset_named(*t, r_.body);
        if (!named) return error_response(400, "Invalid message id: " + r_.body);
        at = *named;
      }
      if (auto made = t->add_subscription(name, at); !made) {
        return error_response(500, made.error().message());
      }
    }
    spdlog::info("admin: created subscription {} of {}", name, parts.front().base());
    return no_content();
  }

  http_response move(const std::vector<wire::topic_name>& parts, const std::string& name,
                     motion how, const target& where) {
    if (r_.method != "POST") return method_not_allowed("POST");
    if (parts.empty()) return error_response(404, "Topic not found");
    std::vector<std::pair<std::shared_ptr<topic>, subscription*>> found;
    for (const auto& part : parts) {
      auto t = topics_.get(part.str());
      if (!t) return error_response(500, t.error().message());
      if (auto* sub = (*t)->find_subscription(name); sub != nullptr && sub->durable()) {
        found.emplace_back(*t, sub);
      }
    }
    if (found.empty()) {
      return error_response(
          404, "Subscription " + name + " not found for topic " + parts.front().base());
    }
    for (const auto& [t, sub] : found) {
      auto at = where(*t, *sub);
      if (!at) return error_response(412, "Unable to find the position to move the cursor to");
      auto moved = how == motion::seek ? sub->seek(*at) : sub->skip_to(*at);
      if (!moved) return error_response(500, moved.error().message());
    }
    spdlog::info("admin: {} {}: subscription {} of {} moved", r_.method, r_.target, name,
                 parts.front().base());
    return no_content();
  }

  topic_registry& topics_;
  const http_request& r_;
};

}  // namespace

std::optional<http_response> cursor_routes(topic_registry& topics, const http_request& r,
                                           const std::vector<wire::topic_name>& parts) {
  return cursor_api(topics, r).route(parts);
}

}  // namespace shfn::broker
