// shfn consume: receive messages and print them, like Pulsar's pulsar-client consume.

#include <asio/this_coro.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/unicode.h"
#include "cli/common.h"
#include "client/client.h"
#include "client/consumer.h"
#include "client/errc.h"

namespace shfn::cli {
namespace {

struct consume_flags {
  connection_flags conn;
  std::string topic;
  std::string subscription;
  int count = 1;
  std::string type = "exclusive";
  std::string position = "latest";
  std::string format = "raw";
  double receive_timeout = 0;
};

void print_json(const client::message& m) {
  nlohmann::ordered_json j;
  if (is_utf8(m.payload)) {
    j["payload"] = std::string(as_chars(m.payload));
  } else {
    j["payload_base64"] = base64_encode(m.payload);
  }
  j["key"] = m.key ? nlohmann::ordered_json(*m.key) : nlohmann::ordered_json(nullptr);
  j["properties"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : m.properties) j["properties"][k] = v;
  j["message_id"] = m.id.str();
  j["topic"] = m.topic;
  j["publish_time"] = m.publish_time;
  j["event_time"] = m.event_time;
  j["redelivery_count"] = m.redelivery_count;
  j["producer_name"] = m.producer_name;
  j["sequence_id"] = m.sequence_id;
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

std::optional<client::subscription_type> parse_type(const std::string& s) {
  if (s == "exclusive") return client::subscription_type::exclusive;
  if (s == "shared") return client::subscription_type::shared;
  if (s == "failover") return client::subscription_type::failover;
  if (s == "key_shared") return client::subscription_type::key_shared;
  return std::nullopt;
}

asio::awaitable<int> consume(consume_flags f) {
  auto type = parse_type(f.type);
  if (!type) co_return error("invalid subscription type", f.type);
  auto c = client::client::create(co_await asio::this_coro::executor, f.conn.options());
  if (!c) co_return error("invalid service URL", f.conn.url);
  const client::consumer_options options{.topic = f.topic,
                                         .subscription = f.subscription,
                                         .type = *type,
                                         .position = f.position == "earliest"
                                                         ? client::initial_position::earliest
                                                         : client::initial_position::latest};
  auto consumer = co_await (*c)->subscribe(options);
  if (!consumer) {
    co_return error("cannot subscribe to " + f.topic + " at " + f.conn.url,
                    consumer.error().message());
  }
  int received = 0;
  int code = 0;
  while (f.count == 0 || received < f.count) {
    auto deadline =
        f.receive_timeout > 0
            ? clock::now() + std::chrono::milliseconds(static_cast<long>(f.receive_timeout * 1000))
            : clock::time_point::max();
    auto m = co_await (*consumer)->receive(deadline);
    if (!m && m.error() == client::errc::timeout) {
      // Asked for: the topic ran dry. Not a failure, but a count not reached is worth a word.
      if (f.count != 0) {
        std::fprintf(stderr, "shfn: no message for %gs: %d of %d received\n", f.receive_timeout,
                     received, f.count);
      }
      break;
    }
    if (!m) {
      code = error("receive stopped",
                   fmt::format("{} after {} messages", m.error().message(), received));
      break;
    }
    if (f.format == "json") {
      print_json(*m);
    } else {
      std::fwrite(m->payload.data(), 1, m->payload.size(), stdout);
      std::fputc('\n', stdout);
    }
    std::fflush(stdout);
    (*consumer)->acknowledge(*m);
    ++received;
  }
  co_await (*consumer)->close();
  (*c)->close();
  co_return code;
}

}  // namespace

void setup_consume(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<consume_flags>();
  auto* cmd = app.add_subcommand("consume", "Receive messages from a topic and print them");
  cmd->add_option("topic", f->topic,
                  "Topic (short names expand to persistent://public/default/NAME)")
      ->required();
  cmd->add_option("-s,--subscription-name", f->subscription, "Subscription name")->required();
  cmd->add_option("-n,--num-messages", f->count, "Messages to receive; 0 = forever")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--subscription-type", f->type, "exclusive, shared, failover or key_shared")
      ->capture_default_str()
      ->transform(one_of({"exclusive", "shared", "failover", "key_shared"}));
  cmd->add_option("-p,--position,--subscription-position", f->position,
                  "Initial position of a new subscription: earliest or latest")
      ->capture_default_str()
      ->transform(one_of({"earliest", "latest"}));
  cmd->add_option("--format", f->format, "raw (payload per line) or json")
      ->capture_default_str()
      ->transform(one_of({"raw", "json"}));
  cmd->add_option("--receive-timeout", f->receive_timeout,
                  "Stop after this many seconds without a message (exit 0); 0 = wait forever");
  f->conn.add_to(*cmd);
  cmd->callback([f, &exit_code] { exit_code = run([f] { return consume(*f); }); });
}

}  // namespace shfn::cli
