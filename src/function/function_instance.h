#pragma once
// One instance of a function: consumers on its inputs -> the script (src/exec) -> a producer on
// its output, with retries, a dead-letter topic and a log topic (DESIGN.md, "Delivery
// guarantees"; function/delivery.h says how failures are retried).
//
// Life of a message: a receive loop per input takes it once there is a free run slot and room in
// the in-flight window, and spawns one coroutine for it. Ordered functions (retainOrdering,
// retainKeyOrdering, EFFECTIVELY_ONCE) first wait for their turn in a lane: one lane per input
// partition, or per key, so that messages of the same lane run one after the other while other
// lanes go on. Then the script runs (exec mode: one process each, up to `parallelism` at once;
// stream mode: a request to one of `parallelism` long-lived workers, pipelined when unordered).
// Its output is published, and the input is acknowledged once the output has its receipt
// (ATLEAST_ONCE) or was acknowledged before the script ran (ATMOST_ONCE).
//
// Unordered, in stream mode or at a flow stage whose step answers at once (stage.h): the
// receive loop takes whatever else has come in with the message (up to
// admission::stream_batch_max) and one coroutine runs them as a batch: one write to a worker
// and one wait for its answers (or the step's answers, in place), every output queued before
// one wait for the receipts, the acks together. A message of the batch that failed, or whose output
// the broker refused, leaves it and goes on alone, as above: per-message timeouts, retries and dead
// letters are unchanged.
//
// topicsPattern: start() lists the pattern's namespace and subscribes to every topic whose name
// matches (besides `inputs`); run() lists it again every `pattern_discovery` and subscribes to
// the new ones. Each such topic is an input like the others: its own consumer and receive loop.
//
// The instance orchestrates small parts: admission.h (run slots, the in-flight window, lanes),
// topic_pattern.h (which topics a pattern selects), output.h (the output and dead-letter
// topics), retry.h (retries against the broker), delivery.h (what a failure leads to).
//
// Shutdown is two-phase: stop() interrupts the receive loops; run() then waits (up to the deadline)
// for in-flight messages, then for everything it started to end (its gate), and only then closes
// its parts, consumers before producers, so that anything not acked is redelivered by the broker
// to whoever subscribes next. Nothing in flight is lost.
//
// Threads: an instance, its client, producers, consumers and child processes all run on the one
// executor of the runtime (a single-threaded io_context).

#include <asio/awaitable.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "base/notifier.h"
#include "client/client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "config/spec.h"
#include "exec/command.h"
#include "exec/worker_pool.h"
#include "function/admission.h"
#include "function/delivery.h"
#include "function/log_shipper.h"
#include "function/metrics.h"
#include "function/output.h"
#include "function/retry.h"
#include "function/script_env.h"
#include "function/stage.h"
#include "function/topic_pattern.h"
#include "wire/topic_name.h"

namespace shfn::function {

struct instance_options {
  int instance_id = 0;
  std::string scratch_dir;  // for the scripts' metadata files
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{30000};
  // How often a topicsPattern's namespace is listed again for new topics (Pulsar's clients'
  // patternAutoDiscoveryPeriod: one minute).
  std::chrono::milliseconds pattern_discovery{60000};
  // How often the inputs' backlog is asked of the broker, for /status and /metrics.
  std::chrono::milliseconds backlog_refresh{5000};
  stage_options stage;  // a flow stage's step, back-off and events; defaults: a plain function
};

class function_instance {
 public:
  function_instance(client::client& c, config::function_spec spec, instance_options options);
  ~function_instance();

  // Starts the stream workers, creates the output producer and subscribes to every input,
  // retrying with back-off (and a log line each time) while the broker cannot be reached.
  // Fails only for what retrying cannot fix, such as a worker that cannot be spawned.
  asio::awaitable<result<void>> start();
  // Processes messages until stop(), then drains and closes.
  asio::awaitable<void> run();
  // Stops taking messages; in-flight ones may finish until `drain_deadline`.
  void stop(clock::time_point drain_deadline);

  bool ready() const { return ready_; }
  // Messages received and not yet done with (running, retried in place, or waiting for their
  // output's receipt).
  std::size_t in_flight() const { return admission_.in_flight(); }
  const config::function_spec& spec() const { return spec_; }
  // Stream workers started again after one ended (0 in exec mode).
  std::uint64_t worker_restarts() const;
  int instance_id() const { return options_.instance_id; }
  function_metrics metrics() const;
  nlohmann::json status() const;

 private:
  struct input {
    std::string topic;
    std::unique_ptr<client::consumer> consumer;
  };

  asio::awaitable<result<void>> start_parts();
  asio::awaitable<void> stop_started_parts();
  asio::awaitable<bool> subscribe_all();
  client::consumer_options consumer_options_for(const std::string& topic) const;
  void add_input(std::string topic, std::unique_ptr<client::consumer> consumer, bool by_pattern);
  void start_receiving(asio::any_io_executor ex, std::size_t input_index);
  // topicsPattern (topic_pattern.h decides, this lists and subscribes).
  bool is_own_topic(const std::string& topic) const;
  // The matching topics not subscribed yet, by base name (a partitioned topic once).
  asio::awaitable<result<std::vector<std::string>>> new_matches();
  asio::awaitable<result<std::unique_ptr<std::vector<std::string>>>> new_matches_boxed();
  asio::awaitable<bool> subscribe_pattern_topics();
  asio::awaitable<void> discovery_loop();
  asio::awaitable<void> backlog_loop();
  asio::awaitable<void> receive_loop(std::size_t input_index);
  asio::awaitable<void> process(client::message m, std::size_t input_index, gate::holder held);
  // Runs `m` (holding a run slot) until it is published, dead-lettered, handed back to the
  // broker or left for redelivery; `failed`: its attempts that failed so far. Returns whether it
  // still holds a run slot.
  asio::awaitable<bool> attempts(const client::message* msg, std::size_t input_index,
                                 std::size_t lane_index, int failed, clock::time_point started);
  // Unordered, in stream mode or with a flow step that answers at once: what one receive found
  // queued runs as one batch (worker_pool::process_batch or step::answer, then
  // output_publisher::publish_all, acks together).
  bool runs_batches() const;
  asio::awaitable<void> process_batch(std::vector<client::message> batch, std::size_t input_index,
                                      gate::holder held);
  std::vector<step_result> answer_all(const std::vector<client::message>* batch);
  asio::awaitable<std::vector<step_result>> run_on_worker(
      const std::vector<client::message>* batch);
  // A message of a batch that failed (`failure`), or whose output the broker did not take
  // (nullopt: it runs again), goes on alone as process() would.
  asio::awaitable<void> settle_alone(client::message m, std::size_t input_index,
                                     std::optional<step_result> failure, clock::time_point started,
                                     gate::holder held);
  // Its output is stored: acked (unless acked before it ran), counted.
  void finished(const client::message& m, std::size_t input_index, clock::time_point started);
  // Counts, logs and decides a failed attempt: dead letter, negative ack, or (true) retry here.
  // `permanent`: retrying cannot help, so straight to the dead letter.
  // These take the message (and outcome) by pointer: process() keeps them alive on its frame
  // until they finish, and a message is too dear to copy for each attempt.
  asio::awaitable<bool> after_failure(const client::message* msg, std::size_t input_index,
                                      const exec::outcome* attempt, int failed, bool permanent);
  asio::awaitable<step_result> invoke(const client::message* msg, std::size_t lane_index);
  asio::awaitable<exec::outcome> run_script(const client::message* msg);
  asio::awaitable<step_result> run_step(const client::message* msg);
  bool nothing_else_coming() const;
  std::size_t lane_of(const client::message& m) const;
  std::size_t pick_worker();
  void acknowledge(const client::message& m, std::size_t input_index);
  // SHFN_LOG=debug: one line per step of a message (received, started, ended, acked), in the
  // process's own log only. Callers check tracing() before they build the line.
  bool tracing() const { return log_.tracing(); }
  void trace(const client::message& m, std::string_view what) const;
  // Waits `d`, or less when stop() is called; false when stopping.
  asio::awaitable<bool> pause(std::chrono::milliseconds d);
  // Past the drain deadline: ends what is still running and waits (kill_grace at most) until
  // the messages in flight have let go.
  asio::awaitable<void> abandon_in_flight();

  client::client& client_;
  const config::function_spec spec_;
  const instance_options options_;
  const delivery_policy policy_;
  admission admission_;  // run slots, the in-flight window, ordered lanes
  exec::command command_;
  exec::limits limits_;
  std::unique_ptr<exec::worker_pool> workers_;
  std::vector<int> worker_load_;
  // Grows while running (topicsPattern): refer to an input by index, never by reference across
  // a suspension. Nothing is added once stopping_ is set.
  std::vector<input> inputs_;
  std::set<std::string> subscribed_;  // the topics of inputs_
  std::optional<topic_pattern> pattern_;
  std::vector<std::string> pattern_topics_;  // subscribed through the pattern, in order
  std::set<std::string> excluded_;           // matched, but the function's own; logged once
  log_shipper log_;
  function_metrics metrics_;
  retrier retry_;
  output_publisher output_;

  std::size_t invoking_ = 0;  // messages whose script (or step) is running now

  bool ready_ = false;
  bool stopping_ = false;
  clock::time_point drain_deadline_ = clock::time_point::max();
  notifier stop_requested_;
  // Past the drain deadline: running scripts are stopped, and their messages left unacked for
  // redelivery, neither retried nor counted as failures.
  bool abandoning_ = false;
  std::stop_source stop_scripts_;
  // Every coroutine that uses `this` holds it; run() returns only once it is closed.
  gate gate_;
};

}  // namespace shfn::function
