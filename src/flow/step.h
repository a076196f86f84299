#pragma once
// What a flow stage runs for each message when it is not a process: a built-in attribute filter,
// a `uri` subscriber, or the `display` built-in (docs/flows.md, "Steps"). A function_instance
// whose instance_options carry a step calls it instead of spawning the spec's command; retries,
// dead letters, acks and the output topic work as for a script.
//
// A step answers like a script does (an exec::outcome: failure or success, with output), or with
// a whole event (`reply`), which then replaces the input's: the filter that matched passes the
// input's event on unchanged, a `uri` subscriber's response is its reply event.
//
// Threads: run() is called on the runtime's executor, one call per message, several at once.

#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "admin/http_client.h"
#include "client/message.h"
#include "event/event.h"
#include "event/filter.h"
#include "exec/command.h"

namespace shfn::flow {

struct step_result {
  // Failure, or success with `output` as the reply's data. A `uri` step's failure keeps the
  // HTTP status in exit_code (0 for a network error) and the response body in stderr_tail: the
  // dead letter's knativeerrorcode and knativeerrordata.
  exec::outcome outcome;
  // Success only: the reply event as a whole. nullopt with an empty output: no reply.
  std::optional<event::cloud_event> reply;
  // Failure only: retrying cannot help (a 4xx other than 408 and 429): straight to dead letter.
  bool permanent = false;
};

class step {
 public:
  virtual ~step() = default;
  // `e`: the message's event (decoded or synthesized, see flow/events.h).
  virtual asio::awaitable<step_result> run(const client::message& m,
                                           const event::cloud_event& e) = 0;
};

// Knative Trigger attribute filters (event/filter.h): a matching event goes on unchanged, any
// other is dropped. Never fails.
std::unique_ptr<step> attribute_filter_step(event::filter f);

// HTTP POST of the event in CloudEvents binary mode. 2xx with a body: that is the reply event
// (an event in binary or structured mode; a body without ce- headers is the input's event with
// that body as its data and the response's Content-Type). 2xx with an empty body: no reply.
// 408, 429, 5xx and network errors or timeouts fail and are retried by the delivery policy;
// any other status fails for good (`permanent`: to the dead letter at once, as Knative does).
// `timeout` bounds each attempt.
std::unique_ptr<step> uri_step(std::string uri, std::chrono::milliseconds timeout);

// Prints each event as Knative's event-display does (event/display.h) through `print`, which
// writes one whole block; no reply.
using display_printer = std::function<void(const std::string& block)>;
std::unique_ptr<step> display_step(display_printer print);

}  // namespace shfn::flow
