#include "function/output.h"

#include "function/delivery.h"
#include "function/events.h"

namespace shfn::function {

using asio::awaitable;

namespace {

// A topic name without its "-partition-N" suffix: dead letters of every partition go together.
std::string base_topic(const std::string& topic) {
  const auto at = topic.rfind("-partition-");
  return at == std::string::npos ? topic : topic.substr(0, at);
}

// The receipts a batch's outputs wait for, counted down by the producer's callbacks. It lives on
// publish_all()'s frame, which returns only once every callback came: the producer calls each
// exactly once, and is closed only after every publish is done (function_instance's gate).
struct batch_receipts {
  std::vector<char> stored;
  std::vector<std::pair<std::size_t, std::error_code>> refused;
  std::size_t waiting = 1;  // one for the sender, until everything is queued
  oneshot<bool> all_in;

  void arrived(std::size_t i, const result<wire::message_id>& r) {
    if (r) {
      stored[i] = 1;
    } else {
      refused.emplace_back(i, r.error());
    }
    if (--waiting == 0) all_in.set(true);
  }
};

}  // namespace

output_publisher::output_publisher(client::client& c, const config::function_spec& spec,
                                   const stage_options& stage, std::size_t max_pending,
                                   function_metrics& metrics, const retrier& retry)
    : client_(c),
      spec_(spec),
      stage_(stage),
      max_pending_(max_pending),
      metrics_(metrics),
      retry_(retry) {}

awaitable<bool> output_publisher::open() {
  // EFFECTIVELY_ONCE publishes through one named producer per input partition instead.
  if (spec_.output.empty() || spec_.guarantees == config::guarantee::effectively_once) {
    co_return true;
  }
  // Batched as Pulsar Functions batch (config::batching_spec): waiting up to 10 ms for more
  // outputs turns a publish, a write, an fsync, a receipt and an ack per message into one per
  // batch. A batch goes out early when nothing else is coming (publish_now), so the
  // wait costs latency only while messages keep the function busy.
  const config::batching_spec& batching = spec_.output_batching;
  const client::producer_options options{.topic = spec_.output,
                                         .batching = batching.enabled,
                                         .batching_max_messages = batching.max_messages,
                                         .batching_max_bytes = batching.max_bytes,
                                         .batching_max_delay = batching.max_publish_delay,
                                         .max_pending_messages = max_pending_};
  const attempt_fn<client::producer> attempt = [this, &options] {
    return client_.create_producer(options);
  };
  output_ =
      co_await retry_.keep_trying(attempt, "create a producer on " + spec_.output, log_level::warn);
  co_return output_ != nullptr;
}

std::optional<client::outgoing_message> output_publisher::output_for(
    const client::message& m, step_result& r, std::vector<std::string>& warnings) {
  event::attribute_list ttl;
  if (stage_.broker_reply) {
    const auto left = reply_ttl(m);
    if (!left) {
      ++metrics_.dropped;
      warnings.emplace_back(
          "reply dropped: its knativebrokerttl would reach 0, so the broker has passed it on "
          "too often (a reply loop?)");
      return std::nullopt;
    }
    ttl.emplace_back(broker_ttl_attribute, std::to_string(*left));
  }
  const event::attribute_list* set = stage_.broker_reply ? &ttl : nullptr;
  if (r.reply) return reply_message(m, std::move(*r.reply), set);
  return output_message(m, r.outcome, warnings, stage_.always_event, set);
}

awaitable<bool> output_publisher::publish(const client::message* msg, step_result r,
                                          bool publish_now) {
  const client::message& m = *msg;
  if (spec_.output.empty()) co_return true;
  if (r.outcome.output.empty() && !r.reply) {  // empty stdout, or a step without a reply
    ++metrics_.dropped;
    co_return true;
  }
  std::vector<std::string> warnings;
  auto made = output_for(m, r, warnings);
  for (const auto& w : warnings) retry_.log.post(log_level::warn, w, m.id.str());
  if (!made) co_return true;
  client::outgoing_message out = std::move(*made);
  client::producer* p = output_.get();
  if (spec_.guarantees == config::guarantee::effectively_once) {
    // One producer per input partition, named after it, so the sequence ids it sends increase.
    out.sequence_id = sequence_id_for(m.id);
    p = co_await named_producer(spec_.output, spec_.name + "@" + m.topic, false);
    if (p == nullptr) co_return false;
  }
  const bool stored = co_await send(p, &out, "output to " + spec_.output, publish_now);
  if (stored) ++metrics_.published;
  co_return stored;
}

awaitable<std::vector<char>> output_publisher::publish_all(const std::vector<client::message>* ms,
                                                           std::vector<step_result>* results,
                                                           bool publish_now) {
  const std::vector<client::message>& batch = *ms;
  batch_receipts receipts;
  receipts.stored.assign(batch.size(), 0);
  std::vector<std::string> warnings;
  std::size_t sent = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    step_result& r = (*results)[i];
    if (!r.outcome.ok()) continue;
    // Empty stdout (or a step without a reply): no output, nothing to store.
    if (spec_.output.empty() || (r.outcome.output.empty() && !r.reply)) {
      if (!spec_.output.empty()) ++metrics_.dropped;
      receipts.stored[i] = 1;
      continue;
    }
    auto made = output_for(batch[i], r, warnings);
    for (const auto& w : warnings) retry_.log.post(log_level::warn, w, batch[i].id.str());
    warnings.clear();
    if (!made) {
      receipts.stored[i] = 1;
      continue;
    }
    client::outgoing_message out = std::move(*made);
    ++receipts.waiting;
    ++sent;
    // Two words, so std::function keeps it without allocating.
    client::send_callback done = [all = &receipts, i](result<wire::message_id> id) {
      all->arrived(i, id);
    };
    if (!output_->try_send_async(out, done)) {
      co_await output_->send_async(std::move(out), std::move(done));
    }
  }
  if (publish_now) output_->send_open_batches();
  if (--receipts.waiting > 0) co_await receipts.all_in.wait_until(clock::time_point::max());
  metrics_.published += sent - receipts.refused.size();
  for (const auto& [i, ec] : receipts.refused) {
    ++metrics_.system_exceptions;
    retry_.log.post(
        log_level::error,
        "publish output to " + spec_.output + ": " + ec.message() + "; running it again",
        batch[i].id.str());
  }
  co_return std::move(receipts.stored);
}

awaitable<bool> output_publisher::dead_letter(const client::message* msg,
                                              const exec::outcome* attempt, int failed) {
  const client::message& m = *msg;
  const exec::outcome& o = *attempt;
  const std::string topic = dead_letter_topic_for(m);
  const client::outgoing_message parked = dead_letter_message(m, o, failed);
  client::producer* p = co_await named_producer(topic, "", true);
  if (p == nullptr) co_return false;
  const bool sent = co_await send(p, &parked, "dead letter to " + topic);
  if (sent) {
    ++metrics_.dead_lettered;
    retry_.log.post(log_level::error,
                    "sent to the dead-letter topic " + topic + " after " + std::to_string(failed) +
                        " failed attempt(s): " + o.message,
                    m.id.str());
  }
  co_return sent;
}

client::outgoing_message output_publisher::dead_letter_message(const client::message& m,
                                                               const exec::outcome& o,
                                                               int failed) const {
  client::outgoing_message parked{
      .payload = m.payload, .key = m.key, .properties = m.properties, .event_time = m.event_time};
  if (!stage_.error_destination.empty()) {
    const knative_error error{
        .destination = stage_.error_destination, .code = o.exit_code, .data = o.stderr_tail};
    parked = with_knative_error(m, error);
  }
  // Pulsar's own dead-letter properties, then what a user needs to see why it failed.
  parked.properties.emplace_back("REAL_TOPIC", m.topic);
  parked.properties.emplace_back("ORIGIN_MESSAGE_ID", m.id.str());
  parked.properties.emplace_back("SHFN_FUNCTION", spec_.name);
  parked.properties.emplace_back("SHFN_FAILURE", std::string(exec::to_string(o.what)));
  parked.properties.emplace_back("SHFN_ERROR", o.message);
  parked.properties.emplace_back("SHFN_EXIT_CODE", std::to_string(o.exit_code));
  if (o.signal != 0) parked.properties.emplace_back("SHFN_SIGNAL", std::to_string(o.signal));
  parked.properties.emplace_back("SHFN_STDERR_TAIL", o.stderr_tail);
  parked.properties.emplace_back("SHFN_ATTEMPTS", std::to_string(failed));
  return parked;
}

awaitable<bool> output_publisher::send(client::producer* p, const client::outgoing_message* m,
                                       std::string what, bool publish_now) {
  auto sent = co_await p->send(*m, publish_now);
  if (sent) co_return true;
  const retry_policy::attempt_fn<wire::message_id> again = [p, m, publish_now] {
    return p->send(*m, publish_now);
  };
  const retry_policy::failure_fn failed =
      retry_.reporter("publish " + what, log_level::error, &metrics_.system_exceptions);
  const auto resent = co_await retry_.policy.until_done_after(sent.error(), again, failed);
  co_return resent.has_value();
}

awaitable<client::producer*> output_publisher::named_producer(std::string topic, std::string name,
                                                              bool batching) {
  const std::string slot = name.empty() ? topic : name;
  while (creating_.contains(slot)) co_await producers_changed_.wait();
  if (auto it = producers_.find(slot); it != producers_.end()) co_return it->second.get();

  creating_.insert(slot);
  const client::producer_options options{.topic = topic, .name = name, .batching = batching};
  const attempt_fn<client::producer> attempt = [this, &options] {
    return client_.create_producer(options);
  };
  auto p = co_await retry_.keep_trying(attempt, "create a producer on " + topic, log_level::error,
                                       &metrics_.system_exceptions);
  client::producer* made = p.get();
  if (p) producers_[slot] = std::move(p);
  creating_.erase(slot);
  producers_changed_.notify_all();
  co_return made;
}

std::string output_publisher::dead_letter_topic_for(const client::message& m) const {
  if (!spec_.dead_letter_topic.empty()) return spec_.dead_letter_topic;
  return base_topic(m.topic) + "-" + spec_.subscription_name + "-DLQ";
}

awaitable<void> output_publisher::close() {
  if (output_) {
    co_await output_->flush();
    co_await output_->close();
  }
  for (auto& [name, p] : producers_) co_await p->close();
}

}  // namespace shfn::function
