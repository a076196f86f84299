#pragma once
// What a flow may change about a function: a flow's stage is a function_instance whose
// instance_options carry a stage_options (src/flow/plan.h makes them). The step, when there is
// one, runs for each message instead of the spec's command: a built-in attribute filter, a
// `uri` subscriber, or the `display` built-in (src/flow/step.h makes those). Retries, dead
// letters, acks and the output topic work as for a script.
//
// A step answers like a script does (an exec::outcome: failure or success, with output), or with
// a whole event (`reply`), which then replaces the input's: the filter that matched passes the
// input's event on unchanged, a `uri` subscriber's response is its reply event.
//
// Threads: run() is called on the runtime's executor, one call per message, several at once.

#include <asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "client/message.h"
#include "event/event.h"
#include "exec/command.h"

namespace shfn::function {

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
  // `e`: the message's event (decoded or synthesized, see function/events.h). `m` is the
  // caller's, alive until the step is done.
  virtual asio::awaitable<step_result> run(const client::message* m, event::cloud_event e) = 0;
  // A step that never waits (the attribute filter) answers here too, without a coroutine, so
  // that its stage can take messages in batches as a stream worker's does; run() gives the
  // same answer.
  virtual bool answers_at_once() const { return false; }
  virtual step_result answer(const client::message*, event::cloud_event) {
    return {.outcome = {.what = exec::failure::io_error,
                        .message = "this step answers through run() only"},
            .permanent = true};
  }
};

// How a stage differs from a plain function; the defaults are a plain function's. (A new field
// goes into flow/plan.cc's same_definition too, or a reload would not see it change.)
struct stage_options {
  std::shared_ptr<function::step> step;  // null: run the spec's command (exec or stream mode)
  bool always_event = false;             // synthesize an event for a plain input's output too
  bool linear_backoff = false;  // Knative backoffPolicy linear: delay * n, not delay * 2^(n-1)
  std::chrono::milliseconds backoff_delay{0};  // 0: the runtime's default retry delay
  // Non-empty: dead letters are events carrying Knative's error extensions, knativeerrordest
  // being this (the subscriber's uri, or "shfn:<stage>" for a process or a built-in).
  std::string error_destination;
  // A Trigger's subscriber, whose replies go back into its Broker (Knative's loop protection):
  // the step does not see the broker's knativebrokerttl extension, and a reply carries one less
  // than the input's (broker_ttl when it had none), or is dropped when that reaches 0.
  bool broker_reply = false;
};

// Knative's broker TTL: the extension, and what an event that enters a broker without it gets.
inline constexpr std::string_view broker_ttl_attribute = "knativebrokerttl";
inline constexpr int broker_ttl = 255;

}  // namespace shfn::function
