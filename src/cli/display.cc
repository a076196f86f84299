// shfn display: consume topics and print every message as a CloudEvent, exactly as Knative's
// event-display prints events (event/display.h). Messages that are not CloudEvents get the
// event a function would see for them (event::from_message: id = the message id, source = the
// topic, time = the event time, else the publish time).
//
// One consumer per topic, all on one io_context thread, each with a receive loop of its own;
// the main coroutine waits until COUNT events were printed, a signal arrives or a loop fails,
// then closes the consumers (which ends the loops) and the client.

#include "event/display.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/signal_set.hpp>
#include <asio/this_coro.hpp>
#include <csignal>
#include <cstdio>
#include <memory>

#include "base/notifier.h"
#include "cli/common.h"
#include "client/client.h"
#include "client/consumer.h"
#include "event/pulsar_binding.h"
#include "event/uuid.h"
#include "function/events.h"

namespace shfn::cli {
namespace {

struct display_flags {
  connection_flags conn;
  std::vector<std::string> topics;
  std::string subscription;  // empty: a fresh one, removed again on exit
  std::string from = "latest";
  int count = 0;  // 0: until a signal
};

// What the receive loops share with the main coroutine (all on the one executor).
struct session {
  const display_flags& flags;
  int printed = 0;
  bool stopping = false;
  int code = 0;
  notifier changed;
  gate loops;

  void stop() {
    stopping = true;
    changed.notify_all();
  }
};

// Prints the message's event; a message that claims to be a CloudEvent and is not one gets a
// line on stderr instead. True when an event was printed.
bool show(const client::message& m) {
  // function::event_of: the event a function would see for the message.
  auto decoded = function::event_of(m);
  if (!decoded) {
    error("message " + m.id.str() + " on " + m.topic + " is not a valid CloudEvent",
          decoded.error().to_string());
    return false;
  }
  const std::string text = event::display(decoded->event);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return true;
}

// `s` and `c` are display_events()'s, which waits for every loop (s.loops) before they go.
asio::awaitable<void> receive_loop(session* s, client::consumer* c, gate::holder) {
  while (!s->stopping) {
    auto m = co_await c->receive();
    if (s->stopping) co_return;  // closed, or past COUNT: left unacked for the next reader
    if (!m) {
      s->code = error("receiving from " + c->topic() + " stopped", m.error().message());
      s->stop();
      co_return;
    }
    if (show(*m)) ++s->printed;
    // Acked even when it could not be shown: display must never hold a topic back.
    c->acknowledge(*m);
    if (s->flags.count > 0 && s->printed >= s->flags.count) s->stop();
  }
}

asio::awaitable<int> display_events(display_flags f) {
  auto ex = co_await asio::this_coro::executor;
  session s{.flags = f};
  asio::signal_set signals(ex, SIGINT, SIGTERM);
  signals.async_wait([&s](std::error_code ec, int) {
    if (!ec) s.stop();
  });
  auto c = client::client::create(ex, f.conn.options());
  if (!c) co_return error("invalid connection settings", c.error().message());

  // A subscription nobody will use again would keep the topics' backlog: an unnamed one is
  // removed on exit, a named one stays (and the next `shfn display -s NAME` resumes it).
  const bool ephemeral = f.subscription.empty();
  const std::string subscription =
      ephemeral ? "shfn-display-" + event::uuid_v4().substr(0, 8) : f.subscription;
  std::vector<std::unique_ptr<client::consumer>> consumers;
  for (const std::string& topic : f.topics) {
    const client::consumer_options options{.topic = topic,
                                           .subscription = subscription,
                                           .position = f.from == "earliest"
                                                           ? client::initial_position::earliest
                                                           : client::initial_position::latest};
    auto consumer = co_await (*c)->subscribe(options);
    if (!consumer) {
      s.code =
          error("cannot subscribe to " + topic + " at " + f.conn.url, consumer.error().message());
      break;
    }
    consumers.push_back(std::move(*consumer));
  }

  if (s.code == 0) {
    for (auto& consumer : consumers) {
      asio::co_spawn(ex, receive_loop(&s, consumer.get(), s.loops.enter()), asio::detached);
    }
    while (!s.stopping) co_await s.changed.wait();
  }
  s.stop();
  signals.cancel();
  for (auto& consumer : consumers) {
    if (ephemeral) {
      auto removed = co_await consumer->unsubscribe();
      if (!removed) co_await consumer->close();
    } else {
      co_await consumer->close();
    }
  }
  co_await s.loops.close();
  (*c)->close();
  co_return s.code;
}

}  // namespace

void setup_display(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<display_flags>();
  auto* cmd = app.add_subcommand(
      "display", "Print the messages of topics as CloudEvents, like Knative's event-display");
  cmd->add_option("topic", f->topics,
                  "Topics (short names expand to persistent://public/default/NAME)")
      ->required();
  cmd->add_option("-s,--subscription", f->subscription,
                  "Subscription name; default: a fresh one, removed on exit");
  cmd->add_option("--from", f->from, "Where a new subscription starts: earliest or latest")
      ->capture_default_str()
      ->transform(one_of({"earliest", "latest"}));
  cmd->add_option("-n,--count", f->count, "Stop after this many events; 0 = until interrupted")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  f->conn.add_to(*cmd);
  cmd->footer(
      "Each message is printed as an event: a binary- or structured-mode CloudEvent as it is,\n"
      "any other message as the event a function sees for it (id = message id, source =\n"
      "topic, time = event or publish time). A message that claims to be a CloudEvent but is\n"
      "not a valid one (e.g. structured mode with bad JSON) is reported on stderr with its\n"
      "message id, does not count as an event, and is acked anyway: display never blocks a\n"
      "topic. Every message shown is acked. Stops after --count events or on SIGINT/SIGTERM.");
  cmd->callback([f, &exit_code] { exit_code = run([f] { return display_events(*f); }); });
}

}  // namespace shfn::cli
