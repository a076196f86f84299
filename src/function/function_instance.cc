#include "function/function_instance.h"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>
#include <chrono>
#include <functional>

#include "base/clock.h"
#include "base/spawn.h"
#include "client/errc.h"
#include "event/environment.h"
#include "exec/process.h"
#include "function/events.h"

extern char** environ;

namespace shfn::function {

using asio::awaitable;

namespace {

// Whether an environment variable is the Broker's loop counter, which Knative deletes before
// delivery: a Trigger's subscriber never sees it.
bool is_broker_ttl(std::string_view variable) {
  static const std::string name = event::env_name(broker_ttl_attribute);
  return variable == name;
}

// How an attempt ended, for the trace: "succeeded in 2.1 ms, 6 bytes out", "exited with code 3
// in 40.2 ms".
std::string ended(const exec::outcome& o, clock::duration took) {
  const double ms = std::chrono::duration<double, std::milli>(took).count();
  if (o.ok()) return fmt::format("succeeded in {:.1f} ms, {} bytes out", ms, o.output.size());
  return fmt::format("{} in {:.1f} ms", o.message, ms);
}

client::subscription_type subscription_of(config::subscription_kind kind) {
  switch (kind) {
    case config::subscription_kind::exclusive:
      return client::subscription_type::exclusive;
    case config::subscription_kind::failover:
      return client::subscription_type::failover;
    case config::subscription_kind::key_shared:
      return client::subscription_type::key_shared;
    case config::subscription_kind::shared:
      break;
  }
  return client::subscription_type::shared;
}

exec::framing framing_of(config::framing f) {
  switch (f) {
    case config::framing::nul:
      return exec::framing::nul;
    case config::framing::length_prefixed:
      return exec::framing::length_prefixed;
    case config::framing::lines:
      break;
  }
  return exec::framing::lines;
}

// A flow step's input that is no CloudEvent: retrying cannot help.
step_result not_an_event(const std::string& why) {
  return {.outcome = {.what = exec::failure::input_rejected,
                      .message = "not a valid CloudEvent: " + why},
          .permanent = true};
}

}  // namespace

function_instance::function_instance(client::client& c, config::function_spec spec,
                                     instance_options options)
    : client_(c),
      spec_(std::move(spec)),
      options_(std::move(options)),
      policy_([&] {
        auto p = delivery_policy::for_spec(spec_);
        p.initial_delay = options_.retry_initial;
        p.max_delay = options_.retry_max;
        if (options_.stage.backoff_delay.count() > 0) {
          // A flow's own backoffDelay: Knative caps nothing, so neither does a stage below
          // an hour.
          p.initial_delay = options_.stage.backoff_delay;
          p.max_delay = std::max(p.max_delay, std::chrono::milliseconds(std::chrono::hours(1)));
        }
        p.linear = options_.stage.linear_backoff;
        return p;
      }()),
      admission_(admission::for_spec(
          spec_, policy_.ordered, options_.stage.step && options_.stage.step->answers_at_once())),
      log_(c, spec_.log_topic, spec_.name, options_.instance_id),
      retry_{.log = log_,
             .policy = {.initial = options_.retry_initial,
                        .max = std::chrono::seconds(10),
                        .pause = [this](std::chrono::milliseconds d) { return pause(d); }},
             .stopping = stopping_},
      output_(c, spec_, options_.stage, admission_.max_in_flight(), metrics_, retry_) {
  command_ = exec::command{.argv = spec_.argv,
                           .working_dir = spec_.working_dir,
                           .env = base_environment(spec_, options_.instance_id, environ)};
  limits_ = exec::limits{.max_output = spec_.max_output_bytes,
                         .timeout = spec_.timeout,
                         .kill_grace = spec_.kill_grace};
}

function_instance::~function_instance() = default;

awaitable<result<void>> function_instance::start() {
  auto started = co_await start_parts();
  if (!started) co_await stop_started_parts();
  co_return started;
}

// start() failed or was stopped half way: run() will not run, so what start() began (the log
// shipper, which retries while the broker is away, and the stream workers) stops here, or it
// would keep the process alive after SIGTERM.
awaitable<void> function_instance::stop_started_parts() {
  if (workers_) co_await workers_->stop();
  co_await log_.stop(stopping_ ? drain_deadline_ : clock::now());
}

awaitable<result<void>> function_instance::start_parts() {
  auto ex = co_await asio::this_coro::executor;
  if (!spec_.topics_pattern.empty()) {
    auto compiled = topic_pattern::compile(spec_.topics_pattern);
    if (!compiled) co_return fail(compiled.error());
    pattern_ = std::move(*compiled);
  }
  log_.start(ex);

  if (spec_.mode == config::run_mode::stream) {
    exec::worker_pool_options pool{
        .cmd = command_,
        .workers = spec_.parallelism,
        .frames = framing_of(spec_.frames),
        .lim = limits_,
        .max_in_flight = policy_.ordered ? 1 : static_cast<int>(admission::stream_pipeline_depth),
        .on_notice = [this](std::string_view line) { log_.post(log_level::warn, line); }};
    exec::line_sink to_log = [this](std::string_view line) { log_.post(log_level::info, line); };
    workers_ = std::make_unique<exec::worker_pool>(ex, std::move(pool), to_log);
    worker_load_.assign(static_cast<std::size_t>(spec_.parallelism), 0);
    auto started = co_await workers_->start();
    if (!started) co_return fail(started.error());
  }
  const bool have_output = co_await output_.open();
  if (!have_output) co_return fail(std::make_error_code(std::errc::operation_canceled));
  const bool subscribed = co_await subscribe_all();
  if (!subscribed) co_return fail(std::make_error_code(std::errc::operation_canceled));
  const bool matched = co_await subscribe_pattern_topics();
  if (!matched) co_return fail(std::make_error_code(std::errc::operation_canceled));
  ready_ = true;
  log_.post(log_level::info, "ready: " + std::to_string(inputs_.size()) + " input(s), " +
                                 std::string(config::to_string(spec_.guarantees)) + ", " +
                                 std::string(config::to_string(spec_.subscription)) +
                                 " subscription '" + spec_.subscription_name + "'");
  co_return result<void>{};
}

client::consumer_options function_instance::consumer_options_for(const std::string& topic) const {
  return {
      .topic = topic,
      .subscription = spec_.subscription_name,
      .type = subscription_of(spec_.subscription),
      .position = spec_.subscription_earliest ? client::initial_position::earliest
                                              : client::initial_position::latest,
      .name = spec_.name + "-" + std::to_string(options_.instance_id),
      .receiver_queue_size =
          static_cast<int>(std::min<std::size_t>(admission_.max_in_flight(), 1000)),
  };
}

awaitable<bool> function_instance::subscribe_all() {
  for (const auto& topic : spec_.inputs) {
    const client::consumer_options options = consumer_options_for(topic);
    const attempt_fn<client::consumer> attempt = [this, &options] {
      return client_.subscribe(options);
    };
    auto c = co_await retry_.keep_trying(attempt, "subscribe to " + topic, log_level::warn);
    if (!c) co_return false;
    add_input(topic, std::move(c), false);
  }
  co_return true;
}

void function_instance::add_input(std::string topic, std::unique_ptr<client::consumer> consumer,
                                  bool by_pattern) {
  subscribed_.insert(topic);
  if (by_pattern) {
    pattern_topics_.push_back(topic);
    log_.post(log_level::info,
              "subscribed to " + topic + " (matches topicsPattern " + spec_.topics_pattern + ")");
  }
  inputs_.push_back({std::move(topic), std::move(consumer)});
}

void function_instance::start_receiving(asio::any_io_executor ex, std::size_t input_index) {
  spawn_held(ex, gate_, receive_loop(input_index));
}

// ------------------------------------------------------------------------------ topicsPattern

// A function reading what it writes feeds itself forever (config refuses an output that is an
// input; a pattern can match one only at run time): its output, log and dead-letter topics,
// the default dead-letter topics (<input>-<subscription>-DLQ) included, are never inputs.
bool function_instance::is_own_topic(const std::string& topic) const {
  return topic == spec_.output || topic == spec_.log_topic || topic == spec_.dead_letter_topic ||
         topic.ends_with("-" + spec_.subscription_name + "-DLQ");
}

awaitable<result<std::vector<std::string>>> function_instance::new_matches() {
  const auto mode =
      pattern_->persistent() ? client::topic_mode::persistent : client::topic_mode::non_persistent;
  auto listed = co_await client_.get_topics_of_namespace(pattern_->ns(), mode);
  if (!listed) co_return fail(listed.error());
  auto chosen = pattern_->select(*listed, subscribed_,
                                 [this](const std::string& t) { return is_own_topic(t); });
  for (const auto& own : chosen.own_matches) {
    if (excluded_.insert(own).second) {
      log_.post(log_level::warn, "not subscribing to " + own + ", which matches topicsPattern " +
                                     spec_.topics_pattern + ": the function publishes to it");
    }
  }
  co_return std::move(chosen.subscribe);
}

awaitable<result<std::unique_ptr<std::vector<std::string>>>>
function_instance::new_matches_boxed() {
  auto found = co_await new_matches();
  if (!found) co_return fail(found.error());
  co_return std::make_unique<std::vector<std::string>>(std::move(*found));
}

// Before the instance is ready: listing and each subscription are retried until they work, as
// the inputs' subscriptions are.
awaitable<bool> function_instance::subscribe_pattern_topics() {
  if (!pattern_) co_return true;
  const attempt_fn<std::vector<std::string>> list = [this] { return new_matches_boxed(); };
  auto found =
      co_await retry_.keep_trying(list, "list the topics of " + pattern_->ns(), log_level::warn);
  if (!found) co_return false;
  for (const auto& topic : *found) {
    const client::consumer_options options = consumer_options_for(topic);
    const attempt_fn<client::consumer> attempt = [this, &options] {
      return client_.subscribe(options);
    };
    auto c = co_await retry_.keep_trying(attempt, "subscribe to " + topic, log_level::warn);
    if (!c) co_return false;
    add_input(topic, std::move(c), true);
  }
  co_return true;
}

// While running: one attempt per round; what fails is tried again the next round.
awaitable<void> function_instance::discovery_loop() {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    const bool go_on = co_await pause(options_.pattern_discovery);
    if (!go_on) break;
    auto found = co_await new_matches();
    if (!found) {
      log_.post(log_level::warn, "cannot list the topics of " + pattern_->ns() + ": " +
                                     found.error().message() + "; trying again in " +
                                     std::to_string(options_.pattern_discovery.count()) + " ms");
    }
    const std::vector<std::string> topics = found ? std::move(*found) : std::vector<std::string>();
    for (const auto& topic : topics) {
      if (stopping_) break;
      const client::consumer_options options = consumer_options_for(topic);
      auto c = co_await client_.subscribe(options);
      if (!c) {
        log_.post(log_level::warn, "cannot subscribe to " + topic + ": " + c.error().message() +
                                       "; trying again in " +
                                       std::to_string(options_.pattern_discovery.count()) + " ms");
        continue;
      }
      if (stopping_) {  // run() is closing the inputs: this one is not one of them
        co_await (*c)->close();
        break;
      }
      add_input(topic, std::move(*c), true);
      start_receiving(ex, inputs_.size() - 1);
    }
  }
}

// The inputs' backlog, asked of the broker every backlog_refresh; unknown until every input
// has answered once (a partition on a broker that is away keeps the last sum). The counters
// are sampled on the same beat, for the one-minute figures (metrics.h, minute_window).
awaitable<void> function_instance::backlog_loop() {
  do {
    std::uint64_t total = 0;
    bool answered = true;
    // By index: discovery_loop may add inputs meanwhile; the consumers stay where they are.
    for (std::size_t i = 0; i < inputs_.size() && answered && !stopping_; ++i) {
      client::consumer* input = inputs_[i].consumer.get();
      auto backlog = co_await input->backlog();
      if (backlog) total += *backlog;
      answered = backlog.has_value();
    }
    if (answered && !stopping_) metrics_.input_backlog = static_cast<std::int64_t>(total);
    metrics_.last_minute.record({.at_ms = now_ms(),
                                 .received = metrics_.received,
                                 .processed = metrics_.processed_successfully,
                                 .user_exceptions = metrics_.user_exceptions,
                                 .system_exceptions = metrics_.system_exceptions});
  } while (co_await pause(options_.backlog_refresh));
}

void function_instance::stop(clock::time_point drain_deadline) {
  if (stopping_) return;
  stopping_ = true;
  drain_deadline_ = drain_deadline;
  for (auto& input : inputs_) {
    if (input.consumer) input.consumer->interrupt();
  }
  stop_requested_.notify_all();
  admission_.changed().notify_all();
}

awaitable<bool> function_instance::pause(std::chrono::milliseconds d) {
  if (!stopping_) co_await stop_requested_.wait_until(clock::now() + d);
  co_return !stopping_;
}

awaitable<void> function_instance::run() {
  auto ex = co_await asio::this_coro::executor;
  for (std::size_t i = 0; i < inputs_.size(); ++i) start_receiving(ex, i);
  if (pattern_) {
    spawn_held(ex, gate_, discovery_loop());
  }
  spawn_held(ex, gate_, backlog_loop());
  while (!stopping_) co_await stop_requested_.wait();
  log_.post(log_level::info,
            "stopping: " + std::to_string(admission_.in_flight()) + " message(s) in flight");

  // Phase two: let in-flight messages finish, up to the deadline.
  while (admission_.in_flight() > 0) {
    const bool woken = co_await admission_.changed().wait_until(drain_deadline_);
    if (!woken && admission_.in_flight() > 0) {
      log_.post(log_level::warn, "drain deadline passed with " +
                                     std::to_string(admission_.in_flight()) +
                                     " message(s) in flight; they will be redelivered");
      co_await abandon_in_flight();
      break;
    }
  }
  ready_ = false;
  // Everything the instance started holds its gate: the receive loops (stop() interrupted
  // them), a discovery round, and the messages in flight (drained or abandoned above; one still
  // waiting for its output's receipt gets it, or the producer's send timeout). Once the gate is
  // closed nothing uses the parts, which close in turn: consumers first, so that whatever is
  // still unacked goes back to the broker.
  co_await gate_.close();
  for (auto& in : inputs_) co_await in.consumer->close();
  if (workers_) co_await workers_->stop();
  co_await output_.close();
  log_.post(log_level::info, "stopped");
  co_await log_.stop(drain_deadline_);
}

awaitable<void> function_instance::abandon_in_flight() {
  abandoning_ = true;
  stop_scripts_.request_stop();
  if (workers_) co_await workers_->stop();  // outstanding requests fail: worker_restarted
  // Scripts get SIGTERM now and SIGKILL kill_grace later; a message waiting for its output's
  // receipt is waited for with the gate, after this.
  const auto grace = clock::now() + limits_.kill_grace + std::chrono::seconds(1);
  while (admission_.in_flight() > 0) {
    const bool woken = co_await admission_.changed().wait_until(grace);
    if (!woken) break;
  }
}

awaitable<void> function_instance::receive_loop(std::size_t input_index) {
  auto& consumer = *inputs_[input_index].consumer;
  auto ex = co_await asio::this_coro::executor;
  std::optional<wire::message_id> last;  // of the message taken last
  while (!stopping_) {
    if (!admission_.has_room()) {
      co_await admission_.changed().wait();
      continue;
    }
    // stop() interrupts the wait, so an idle input costs nothing until a message comes.
    auto m = co_await consumer.receive();
    if (!m) {
      if (stopping_ || m.error() == client::errc::closed) break;
      log_.post(log_level::error, "receive from " + consumer.topic() + ": " + m.error().message());
      co_await pause(options_.retry_initial);
      continue;
    }
    if (stopping_) {  // not acked: the broker redelivers it, unless it finishes an entry
      if (last && m->id.same_entry(*last)) {
        admission_.admit();
        asio::co_spawn(ex, process(std::move(*m), input_index, gate_.enter()), asio::detached);
      }
      break;
    }
    last = m->id;
    admission_.admit();  // process() starts holding a run slot
    // Not spawn_held: process() holds the gate itself, saving a coroutine frame per message.
    auto held = gate_.enter();
    if (!runs_batches()) {
      asio::co_spawn(ex, process(std::move(*m), input_index, std::move(held)), asio::detached);
      continue;
    }
    // Stream mode: whatever else has come in goes to a worker with it, as one batch.
    std::vector<client::message> batch;
    batch.push_back(std::move(*m));
    while (batch.size() < admission::stream_batch_max && admission_.has_room()) {
      auto next = consumer.try_receive();
      if (!next) break;
      admission_.admit();
      last = next->id;
      batch.push_back(std::move(*next));
    }
    asio::co_spawn(ex, process_batch(std::move(batch), input_index, std::move(held)),
                   asio::detached);
  }
  // Stopping: the rest of the batch entry last taken from runs too, whatever the window says.
  // Left half taken, the entry would come back whole, and its taken half would run again.
  while (last) {
    auto rest = consumer.try_receive_rest_of(*last);
    if (!rest) break;
    admission_.admit();
    asio::co_spawn(ex, process(std::move(*rest), input_index, gate_.enter()), asio::detached);
  }
}

awaitable<void> function_instance::process(client::message m, std::size_t input_index,
                                           gate::holder) {
  ++metrics_.received;
  if (tracing()) trace(m, "received from " + m.topic);
  const auto started = clock::now();
  const std::size_t lane_index = lane_of(m);
  if (policy_.ordered) {
    const std::uint64_t ticket = admission_.next_ticket();
    co_await admission_.wait_turn(lane_index, ticket);
  }
  if (policy_.guarantee == config::guarantee::at_most_once) acknowledge(m, input_index);
  const bool holds_slot = co_await attempts(&m, input_index, lane_index, 0, started);
  if (policy_.ordered) admission_.leave_lane(lane_index);
  admission_.done(holds_slot);
}

awaitable<bool> function_instance::attempts(const client::message* msg, std::size_t input_index,
                                            std::size_t lane_index, int failed,
                                            clock::time_point started) {
  const client::message& m = *msg;
  bool holds_slot = true;
  while (!stopping_ || clock::now() < drain_deadline_) {
    if (!holds_slot) co_await admission_.take_run_slot();
    holds_slot = true;
    metrics_.last_invocation_ms = now_ms();
    ++invoking_;
    if (tracing()) trace(m, fmt::format("started, attempt {}", failed + 1));
    const auto began = clock::now();
    step_result r = co_await invoke(&m, lane_index);
    --invoking_;
    exec::outcome& o = r.outcome;
    if (tracing()) trace(m, ended(o, clock::now() - began));
    if (!o.ok() && abandoning_) break;  // ended by the shutdown: not the message's fault
    if (!policy_.ordered) {
      // The next message may run while this one's output waits for its receipt. (Ordered
      // functions keep the slot: their lane must not start the next message before this one
      // is published.)
      admission_.release_run_slot();
      holds_slot = false;
    }
    for (const auto& w : o.metadata.warnings) {
      log_.post(log_level::warn, "metadata file: " + w, m.id.str());
    }
    if (o.ok()) {
      const bool published = co_await output_.publish(&m, std::move(r), nothing_else_coming());
      if (published) finished(m, input_index, started);
      break;  // not published: stopping, the message stays unacked
    }
    ++failed;
    const bool again = co_await after_failure(&m, input_index, &o, failed, r.permanent);
    if (!again) break;
  }
  co_return holds_slot;
}

void function_instance::finished(const client::message& m, std::size_t input_index,
                                 clock::time_point started) {
  if (policy_.guarantee != config::guarantee::at_most_once) acknowledge(m, input_index);
  if (tracing()) trace(m, "output stored or none to store; acknowledged");
  ++metrics_.processed_successfully;
  metrics_.process_latency.record(
      std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started));
}

bool function_instance::runs_batches() const {
  if (policy_.ordered) return false;
  if (options_.stage.step) return options_.stage.step->answers_at_once();
  return workers_ != nullptr;
}

awaitable<void> function_instance::process_batch(std::vector<client::message> batch,
                                                 std::size_t input_index, gate::holder) {
  const std::size_t n = batch.size();
  metrics_.received += n;
  if (tracing()) {
    for (const auto& m : batch)
      trace(m, fmt::format("received from {}, in a batch of {}", m.topic, n));
  }
  const auto started = clock::now();
  if (policy_.guarantee == config::guarantee::at_most_once) {
    for (const auto& m : batch) acknowledge(m, input_index);
  }
  metrics_.last_invocation_ms = now_ms();
  invoking_ += n;
  // (Not a conditional expression: GCC 12 miscompiles a co_await in one.)
  std::vector<step_result> results;
  if (options_.stage.step) {
    results = answer_all(&batch);
  } else {
    results = co_await run_on_worker(&batch);
  }
  invoking_ -= n;
  if (tracing()) {
    for (std::size_t i = 0; i < n; ++i)
      trace(batch[i], ended(results[i].outcome, clock::now() - started));
  }
  admission_.release_run_slot(n);  // the outputs wait for receipts without them

  const std::vector<char> stored =
      co_await output_.publish_all(&batch, &results, nothing_else_coming());
  auto ex = co_await asio::this_coro::executor;
  std::size_t done = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (stored[i]) {
      finished(batch[i], input_index, started);
      ++done;
      continue;
    }
    if (!results[i].outcome.ok() && abandoning_) {  // ended by the shutdown: left for redelivery
      ++done;
      continue;
    }
    // Failed, or its output was not taken: on its own from here, as if it had come alone.
    std::optional<step_result> failure;
    if (!results[i].outcome.ok()) failure = std::move(results[i]);
    asio::co_spawn(
        ex,
        settle_alone(std::move(batch[i]), input_index, std::move(failure), started, gate_.enter()),
        asio::detached);
  }
  admission_.done(false, done);
}

std::vector<step_result> function_instance::answer_all(const std::vector<client::message>* batch) {
  std::vector<step_result> results;
  results.reserve(batch->size());
  for (const auto& m : *batch) {
    auto decoded = event_of(m);
    if (!decoded) {
      results.push_back(not_an_event(decoded.error().to_string()));
      continue;
    }
    if (options_.stage.broker_reply) event::remove_attribute(decoded->event, broker_ttl_attribute);
    results.push_back(options_.stage.step->answer(&m, std::move(decoded->event)));
  }
  return results;
}

awaitable<std::vector<step_result>> function_instance::run_on_worker(
    const std::vector<client::message>* batch) {
  const std::size_t n = batch->size();
  std::vector<byte_view> inputs;
  inputs.reserve(n);
  std::vector<bytes> converted;  // structured events' data; reserved, so views stay valid
  for (const auto& m : *batch) {
    auto data = structured_data(m);
    if (!data) {
      inputs.emplace_back(m.payload);
      continue;
    }
    if (converted.empty()) converted.reserve(n);
    converted.push_back(std::move(*data));
    inputs.emplace_back(converted.back());
  }
  const std::size_t worker = pick_worker();
  worker_load_[worker] += static_cast<int>(n);
  std::vector<exec::outcome> outcomes = co_await workers_->process_batch(std::move(inputs), worker);
  worker_load_[worker] -= static_cast<int>(n);
  std::vector<step_result> results;
  results.reserve(n);
  for (auto& o : outcomes) results.push_back({.outcome = std::move(o)});
  co_return results;
}

awaitable<void> function_instance::settle_alone(client::message m, std::size_t input_index,
                                                std::optional<step_result> failure,
                                                clock::time_point started, gate::holder) {
  int failed = 0;
  bool again = true;
  if (failure) {
    for (const auto& w : failure->outcome.metadata.warnings) {
      log_.post(log_level::warn, "metadata file: " + w, m.id.str());
    }
    failed = 1;
    again = co_await after_failure(&m, input_index, &failure->outcome, failed, failure->permanent);
  }
  bool holds_slot = false;
  if (again && (!stopping_ || clock::now() < drain_deadline_)) {
    co_await admission_.take_run_slot();
    holds_slot = co_await attempts(&m, input_index, 0, failed, started);
  }
  admission_.done(holds_slot);
}

awaitable<bool> function_instance::after_failure(const client::message* msg,
                                                 std::size_t input_index,
                                                 const exec::outcome* attempt, int failed,
                                                 bool permanent) {
  const client::message& m = *msg;
  const exec::outcome& o = *attempt;
  ++metrics_.user_exceptions;
  metrics_.last_error = o.message;
  metrics_.last_error_ms = now_ms();
  // Unordered messages come back through the broker, which counts their deliveries.
  const int failures_so_far = failed + (policy_.ordered ? 0 : static_cast<int>(m.redelivery_count));
  log_.post(log_level::warn, "attempt " + std::to_string(failures_so_far) + " failed: " + o.message,
            m.id.str());
  const bool alone = delivery_policy::redelivered_alone(m.id, m.topic);
  const auto step =
      permanent ? next_step::dead_letter : policy_.after_failure(failures_so_far, alone);
  if (step == next_step::dead_letter) {
    const bool parked = co_await output_.dead_letter(&m, &o, failures_so_far);
    if (parked && policy_.guarantee != config::guarantee::at_most_once) {
      acknowledge(m, input_index);
    }
    co_return false;
  }
  ++metrics_.retried;
  const auto delay = policy_.delay(failures_so_far);
  if (step == next_step::negative_ack) {
    inputs_[input_index].consumer->negative_acknowledge(m, delay);
    co_return false;
  }
  co_return co_await pause(delay);  // false when stopping: left unacked, redelivered later
}

awaitable<step_result> function_instance::invoke(const client::message* msg,
                                                 std::size_t lane_index) {
  const client::message& m = *msg;
  if (options_.stage.step) co_return co_await run_step(&m);
  step_result r;
  if (workers_) {
    const std::size_t worker = policy_.ordered ? lane_index : pick_worker();
    ++worker_load_[worker];
    auto data = structured_data(m);
    // Named, not a temporary: GCC 12 may destroy a temporary coroutine argument twice.
    bytes input = data ? std::move(*data) : bytes(m.payload);
    r.outcome = co_await workers_->process(std::move(input), worker);
    --worker_load_[worker];
    co_return r;
  }
  r.outcome = co_await run_script(&m);
  co_return r;
}

awaitable<exec::outcome> function_instance::run_script(const client::message* msg) {
  const client::message& m = *msg;
  std::vector<std::string> warnings;
  environment env = message_environment(m);
  for (auto& var : event_environment(m, warnings)) {
    if (options_.stage.broker_reply && is_broker_ttl(var.first)) continue;
    env.push_back(std::move(var));
  }
  for (const auto& w : warnings) log_.post(log_level::warn, w, m.id.str());
  auto data = structured_data(m);
  exec::invocation inv{.input = data ? std::move(*data) : bytes(m.payload),
                       .extra_env = std::move(env),
                       .metadata_dir = options_.scratch_dir,
                       .stop = stop_scripts_.get_token()};
  if (spec_.input == config::input_style::arg) {
    inv.extra_args.emplace_back(inv.input.begin(), inv.input.end());
  }
  run_stderr said(log_, m.id.str());
  exec::line_sink to_log = [&said](std::string_view line) { said.add(line); };
  exec::outcome o = co_await exec::run_once(command_, std::move(inv), limits_, to_log);
  said.finish(!o.ok());
  co_return o;
}

awaitable<step_result> function_instance::run_step(const client::message* msg) {
  const client::message& m = *msg;
  auto decoded = event_of(m);
  if (!decoded) co_return not_an_event(decoded.error().to_string());
  if (options_.stage.broker_reply) event::remove_attribute(decoded->event, broker_ttl_attribute);
  co_return co_await options_.stage.step->run(&m, std::move(decoded->event));
}

// Whether no other output can join this one's batch soon: no script is running and no message
// can start one (none is queued, or the in-flight window is full until receipts come back).
// Then the batch goes out now rather than after its delay, so batching costs no latency when
// messages come one at a time. An ordered function's lane waits for this output's receipt
// before its next message, so its outputs never wait.
bool function_instance::nothing_else_coming() const {
  if (policy_.ordered) return true;
  if (invoking_ > 0) return false;
  if (admission_.window_full()) return true;
  return std::none_of(inputs_.begin(), inputs_.end(),
                      [](const input& in) { return in.consumer->has_queued(); });
}

std::size_t function_instance::lane_of(const client::message& m) const {
  if (!policy_.ordered) return 0;
  const std::string& by = spec_.retain_key_ordering ? m.key.value_or(std::string()) : m.topic;
  return std::hash<std::string>{}(by) % admission_.lanes();
}

std::size_t function_instance::pick_worker() {
  std::size_t best = 0;
  for (std::size_t i = 1; i < worker_load_.size(); ++i) {
    if (worker_load_[i] < worker_load_[best]) best = i;
  }
  return best;
}

void function_instance::acknowledge(const client::message& m, std::size_t input_index) {
  inputs_[input_index].consumer->acknowledge(m);
}

void function_instance::trace(const client::message& m, std::string_view what) const {
  log_.trace(m.id.str(), what);
}

std::uint64_t function_instance::worker_restarts() const {
  return workers_ ? workers_->restarts() : 0;
}

function_metrics function_instance::metrics() const {
  function_metrics m = metrics_;
  m.log_lines_dropped = log_.dropped();
  return m;
}

nlohmann::json function_instance::status() const {
  nlohmann::json recent = nlohmann::json::array();
  for (const auto& r : log_.recent()) recent.push_back({{"timeMs", r.time_ms}, {"line", r.line}});
  nlohmann::json last_error = nullptr;
  if (metrics_.last_error_ms > 0) {
    last_error = {{"message", metrics_.last_error}, {"timeMs", metrics_.last_error_ms}};
  }
  return {
      {"function", spec_.name},
      {"instance", options_.instance_id},
      {"ready", ready_},
      {"stopping", stopping_},
      {"inputs", spec_.inputs},
      {"topicsPattern", spec_.topics_pattern},
      {"patternTopics", pattern_topics_},
      {"output", spec_.output},
      {"logTopic", spec_.log_topic},
      {"subscriptionName", spec_.subscription_name},
      {"subscriptionType", config::to_string(spec_.subscription)},
      {"processingGuarantees", config::to_string(spec_.guarantees)},
      {"mode", spec_.mode == config::run_mode::stream ? "stream" : "exec"},
      {"parallelism", spec_.parallelism},
      {"inFlight", admission_.in_flight()},
      {"running", admission_.running()},
      {"received", metrics_.received},
      {"processedSuccessfully", metrics_.processed_successfully},
      {"userExceptions", metrics_.user_exceptions},
      {"systemExceptions", metrics_.system_exceptions},
      {"published", metrics_.published},
      {"dropped", metrics_.dropped},
      {"deadLettered", metrics_.dead_lettered},
      {"retried", metrics_.retried},
      {"lastInvocation", metrics_.last_invocation_ms},
      {"inputBacklog", metrics_.input_backlog < 0 ? nlohmann::json(nullptr)
                                                  : nlohmann::json(metrics_.input_backlog)},
      {"workerRestarts", workers_ ? workers_->restarts() : 0},
      {"logLinesDropped", log_.dropped()},
      {"lastError", std::move(last_error)},
      {"recentLogs", std::move(recent)},
  };
}

}  // namespace shfn::function
