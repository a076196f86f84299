// shfn topics: a broker's topics through its admin API (`shfn run`'s embedded broker, `shfn
// broker` or Apache Pulsar), as `pulsar-admin topics list`, `stats` and `peek-messages` show
// them.

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/admin_client.h"
#include "cli/common.h"
#include "wire/topic_name.h"

namespace shfn::cli {
namespace {

struct topics_flags {
  admin_flags admin;
  std::string ns = "public/default";
  std::string topic;
  std::string subscription;
  int count = 1;
};

int report(const topics_flags& f, const std::string& what_went_wrong) {
  return error("admin API at " + f.admin.url, what_went_wrong);
}

// "persistent/public/default/t" for the admin paths, from any form Pulsar's tools take.
std::optional<std::string> admin_path_of(const std::string& topic) {
  auto t = wire::parse_topic_name(topic);
  if (!t) return std::nullopt;
  std::string full = t->str();  // domain://tenant/ns/local[-partition-N]
  return full.replace(full.find("://"), 3, "/");
}

asio::awaitable<int> list(topics_flags f) {
  std::set<std::string> names;  // both domains, in order
  for (const char* domain : {"persistent", "non-persistent"}) {
    auto reply =
        co_await admin_call(f.admin, "GET", "/admin/v2/" + std::string(domain) + "/" + f.ns);
    if (!reply) co_return report(f, reply.error());
    const auto topics = nlohmann::json::parse(reply->body, nullptr, false);
    if (!topics.is_array()) co_return report(f, "not a list of topics: " + reply->body);
    for (const auto& t : topics) names.insert(t.get<std::string>());
  }
  for (const auto& name : names) std::printf("%s\n", name.c_str());
  co_return 0;
}

asio::awaitable<int> stats(topics_flags f) {
  auto path = admin_path_of(f.topic);
  if (!path) co_return error("invalid topic name", f.topic);
  auto reply = co_await admin_call(f.admin, "GET", "/admin/v2/" + *path + "/stats");
  if (!reply) co_return report(f, reply.error());
  const auto body = nlohmann::json::parse(reply->body, nullptr, false);
  std::printf("%s\n", body.is_discarded() ? reply->body.c_str() : body.dump(2).c_str());
  co_return 0;
}

// The subscription's next `count` messages, as they are, without acknowledging them.
asio::awaitable<int> peek(topics_flags f) {
  auto path = admin_path_of(f.topic);
  if (!path) co_return error("invalid topic name", f.topic);
  for (int i = 1; i <= f.count; ++i) {
    auto reply = co_await admin_call(f.admin, "GET",
                                     "/admin/v2/" + *path + "/subscription/" + f.subscription +
                                         "/position/" + std::to_string(i));
    if (!reply && reply.error().starts_with("404 ") && i > 1) break;  // no more
    if (!reply) co_return report(f, reply.error());
    std::fwrite(reply->body.data(), 1, reply->body.size(), stdout);
    std::fputc('\n', stdout);
  }
  co_return 0;
}

}  // namespace

void setup_topics(CLI::App& app, int& exit_code) {
  auto* group = app.add_subcommand("topics", "List topics, show their stats, peek at messages");
  group->require_subcommand(1);
  group->fallthrough();  // --admin-url and --token after the subcommand too
  auto f = std::make_shared<topics_flags>();
  f->admin.add_to(*group, "http://127.0.0.1:8081",
                  "The broker's admin URL (shfn run's admin port, shfn broker --admin, Pulsar's "
                  "web service)");
  auto* list_cmd = group->add_subcommand("list", "The topics of a namespace, both domains");
  list_cmd->add_option("namespace", f->ns, "TENANT/NAMESPACE")->capture_default_str();
  list_cmd->callback([f, &exit_code] { exit_code = run([f] { return list(*f); }); });
  auto* stats_cmd = group->add_subcommand("stats", "A topic's stats (JSON, as Pulsar's)");
  stats_cmd->add_option("topic", f->topic, "Topic (short names are public/default's)")->required();
  stats_cmd->callback([f, &exit_code] { exit_code = run([f] { return stats(*f); }); });
  auto* peek_cmd =
      group->add_subcommand("peek", "A subscription's next messages, left unacknowledged");
  peek_cmd->add_option("topic", f->topic, "Topic (short names are public/default's)")->required();
  peek_cmd->add_option("-s,--subscription", f->subscription, "Subscription name")->required();
  peek_cmd->add_option("-n,--count", f->count, "How many")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  peek_cmd->callback([f, &exit_code] { exit_code = run([f] { return peek(*f); }); });
}

}  // namespace shfn::cli
