#pragma once
// Where a function instance's results go: its output topic and its dead-letter topic.
//
// The output producer is batched as Pulsar Functions batch (config::batching_spec); a batch goes
// out at once when the instance says nothing else is coming, so batching costs latency only
// while messages keep the function busy. EFFECTIVELY_ONCE publishes through one producer per
// input partition instead, named after it, with the input's position as sequence id, so that the
// broker stores an output once however often its input runs. Dead letters carry the input as
// it came, Pulsar's dead-letter properties, and why it failed (and Knative's error extensions
// for a flow stage). Producers are made on first use; every send is retried until it is stored
// or the instance stops (retry.h).
//
// Threads: the instance's executor.

#include <asio/awaitable.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/notifier.h"
#include "client/client.h"
#include "client/producer.h"
#include "config/spec.h"
#include "exec/command.h"
#include "function/metrics.h"
#include "function/retry.h"
#include "function/stage.h"

namespace shfn::function {

class output_publisher {
 public:
  output_publisher(client::client& c, const config::function_spec& spec, const stage_options& stage,
                   std::size_t max_pending, function_metrics& metrics, const retrier& retry);

  // Creates the output producer, retrying while the broker cannot be reached; false when the
  // instance stopped first.
  asio::awaitable<bool> open();
  // Publishes what `r` says `m` became (nothing for an empty output or a step without a reply);
  // true once stored, false when the instance stopped first. `publish_now`: nothing else can
  // join the batch soon.
  // The caller keeps `m` alive until it is done (so for dead_letter()'s `o`).
  asio::awaitable<bool> publish(const client::message* m, step_result r, bool publish_now);
  // publish() for a batch of results (unordered, at-least-once or at most once): every output
  // is queued before any receipt is awaited, so the batch costs one wait, not one per message.
  // stored[i]: the output of (*ms)[i] is stored, or it had none; false for a failure and for
  // an output the broker did not take (logged; the caller runs that message again). Takes the
  // outputs out of `results`.
  asio::awaitable<std::vector<char>> publish_all(const std::vector<client::message>* ms,
                                                 std::vector<step_result>* results,
                                                 bool publish_now);
  // Parks `m`, which failed `failed` times (the last with `o`), on the dead-letter topic.
  asio::awaitable<bool> dead_letter(const client::message* m, const exec::outcome* o, int failed);
  // Flushes and closes every producer.
  asio::awaitable<void> close();

  // What a dead letter holds (pure; for tests too).
  client::outgoing_message dead_letter_message(const client::message& m, const exec::outcome& o,
                                               int failed) const;
  // The spec's dead-letter topic, else Pulsar's default: <input>-<subscription>-DLQ.
  std::string dead_letter_topic_for(const client::message& m) const;

 private:
  // The message `r` makes of `m`, its warnings added to `warnings`; nullopt when a Trigger's
  // reply would outlive its TTL and is dropped (logged).
  std::optional<client::outgoing_message> output_for(const client::message& m, step_result& r,
                                                     std::vector<std::string>& warnings);
  asio::awaitable<bool> send(client::producer* p, const client::outgoing_message* m,
                             std::string what, bool publish_now = false);
  asio::awaitable<client::producer*> named_producer(std::string topic, std::string name,
                                                    bool batching);

  client::client& client_;
  const config::function_spec& spec_;
  const stage_options& stage_;
  const std::size_t max_pending_;
  function_metrics& metrics_;
  const retrier& retry_;
  std::unique_ptr<client::producer> output_;
  std::map<std::string, std::unique_ptr<client::producer>> producers_;  // by name: DLQ, EO
  std::set<std::string> creating_;
  notifier producers_changed_;
};

}  // namespace shfn::function
