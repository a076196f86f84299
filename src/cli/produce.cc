// shfn produce: publish messages from flags or standard input, like Pulsar's pulsar-client.

#include <asio/this_coro.hpp>
#include <iostream>
#include <iterator>

#include "cli/common.h"
#include "client/client.h"
#include "client/producer.h"
#include "wire/compression.h"

namespace shfn::cli {
namespace {

struct produce_flags {
  connection_flags conn;
  std::string topic;
  std::vector<std::string> messages;
  int repeat = 1;
  std::string key;
  std::vector<std::string> properties;
  bool batch = false;
  std::string compression = "none";
  bool nul_separated = false;
};

// Splits standard input into records: lines (without the newline) or NUL-terminated records.
std::vector<bytes> read_stdin_records(bool nul_separated) {
  std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  const char sep = nul_separated ? '\0' : '\n';
  std::vector<bytes> records;
  std::size_t start = 0;
  while (start < all.size()) {
    std::size_t end = all.find(sep, start);
    if (end == std::string::npos) end = all.size();
    records.emplace_back(all.begin() + static_cast<long>(start),
                         all.begin() + static_cast<long>(end));
    start = end + 1;
  }
  return records;
}

asio::awaitable<int> produce(produce_flags f) {
  client::property_list properties;
  for (const auto& p : f.properties) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      co_return error("invalid property", "'" + p + "' is not name=value");
    properties.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  auto compression = wire::compression_from_name(f.compression);
  if (!compression) co_return error("invalid compression", f.compression);

  std::vector<bytes> records;
  if (f.messages.empty()) {
    records = read_stdin_records(f.nul_separated);
  } else {
    for (const auto& m : f.messages) records.emplace_back(m.begin(), m.end());
  }

  auto c = client::client::create(co_await asio::this_coro::executor, f.conn.options());
  if (!c) co_return error("invalid service URL", f.conn.url);
  const client::producer_options options{.topic = f.topic,
                                         .batching = f.batch,
                                         .compression = *compression,
                                         .send_timeout = f.conn.options().operation_timeout};
  auto p = co_await (*c)->create_producer(options);
  if (!p)
    co_return error("cannot create producer on " + f.topic + " at " + f.conn.url,
                    p.error().message());

  std::size_t failed = 0;
  std::error_code first_error;
  for (int i = 0; i < f.repeat; ++i) {
    for (const auto& r : records) {
      client::outgoing_message m{.payload = r, .properties = properties};
      if (!f.key.empty()) m.key = f.key;
      co_await (*p)->send_async(std::move(m), [&](result<wire::message_id> outcome) {
        if (!outcome) {
          if (failed++ == 0) first_error = outcome.error();
        }
      });
    }
  }
  auto flushed = co_await (*p)->flush();
  co_await (*p)->close();
  (*c)->close();
  if (failed > 0)
    co_return error("publish failed",
                    fmt::format("{} messages: {}", failed, first_error.message()));
  if (!flushed) co_return error("publish failed", flushed.error().message());
  fmt::print(stderr, "{} messages produced\n", records.size() * static_cast<std::size_t>(f.repeat));
  co_return 0;
}

}  // namespace

void setup_produce(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<produce_flags>();
  auto* cmd = app.add_subcommand("produce", "Publish messages to a topic");
  cmd->add_option("topic", f->topic,
                  "Topic (short names expand to persistent://public/default/NAME)")
      ->required();
  cmd->add_option("-m,--message,--messages", f->messages,
                  "Message payload (repeatable); default: standard input");
  cmd->add_option("-n,--num-produce", f->repeat, "Send each message this many times")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-k,--key", f->key, "Message key");
  cmd->add_option("-p,--property,--properties", f->properties,
                  "Message property name=value (repeatable)");
  cmd->add_flag("--batch", f->batch, "Batch messages");
  cmd->add_option("-z,--compression", f->compression, "none, lz4, zlib, zstd or snappy")
      ->capture_default_str()
      ->transform(one_of({"none", "lz4", "zlib", "zstd", "snappy"}));
  cmd->add_flag("-0,--null", f->nul_separated, "Standard input records are NUL-separated");
  f->conn.add_to(*cmd);
  cmd->callback([f, &exit_code] { exit_code = run([f] { return produce(*f); }); });
}

}  // namespace shfn::cli
