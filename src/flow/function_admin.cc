#include "flow/function_admin.h"

#include <algorithm>

namespace shfn::flow {

using nlohmann::json;

namespace {

// The mean latency in ms over the instance's recent window; 0 before any message, as Pulsar
// shows a Function that processed nothing.
double average_latency_ms(const function::function_metrics& m) {
  const auto& window = m.process_latency;
  return window.count() == 0 ? 0.0 : window.sum_ms() / static_cast<double>(window.count());
}

json latest_errors(const function::function_metrics& m) {
  json out = json::array();
  if (m.last_error_ms > 0) {
    out.push_back({{"exceptionString", m.last_error}, {"timestampMs", m.last_error_ms}});
  }
  return out;
}

}  // namespace

json function_config_json(const config::function_spec& spec) {
  json inputs = json::array();
  for (const auto& topic : spec.inputs) inputs.push_back(topic);
  json out = {
      {"tenant", functions_tenant},
      {"namespace", functions_namespace},
      {"name", spec.name},
      {"inputs", std::move(inputs)},
      {"parallelism", spec.parallelism},
      {"processingGuarantees", config::to_string(spec.guarantees)},
      {"subscriptionName", spec.subscription_name},
      {"subscriptionPosition", spec.subscription_earliest ? "Earliest" : "Latest"},
      {"retainOrdering", spec.retain_ordering},
      {"retainKeyOrdering", spec.retain_key_ordering},
      {"maxMessageRetries", spec.max_message_retries},
      {"timeoutMs", spec.timeout.count()},
      {"userConfig", spec.user_config},
      {"autoAck", true},
      // shfn's own: what runs, and how.
      {"command", spec.argv},
      {"mode", config::to_string(spec.mode)},
  };
  if (!spec.topics_pattern.empty()) out["topicsPattern"] = spec.topics_pattern;
  if (!spec.output.empty()) out["output"] = spec.output;
  if (!spec.log_topic.empty()) out["logTopic"] = spec.log_topic;
  if (!spec.dead_letter_topic.empty()) out["deadLetterTopic"] = spec.dead_letter_topic;
  return out;
}

json function_status_json(const std::vector<function_instance_snapshot>& instances) {
  json list = json::array();
  int running = 0;
  for (const auto& i : instances) {
    const auto& m = i.metrics;
    running += i.running ? 1 : 0;
    list.push_back(
        {{"instanceId", i.instance_id},
         {"status",
          {{"running", i.running},
           {"error", ""},  // the instance's own; a message's is an exception below
           {"numRestarts", i.restarts},
           {"numReceived", m.received},
           {"numSuccessfullyProcessed", m.processed_successfully},
           {"numUserExceptions", m.user_exceptions},
           {"latestUserExceptions", latest_errors(m)},
           {"numSystemExceptions", m.system_exceptions},
           {"latestSystemExceptions", json::array()},
           {"averageLatency", average_latency_ms(m)},
           {"lastInvocationTime", m.last_invocation_ms},
           {"workerId", "shfn"},
           {"inputBacklog", m.input_backlog < 0 ? json(nullptr) : json(m.input_backlog)}}}});
  }
  return {{"numInstances", instances.size()}, {"numRunning", running}, {"instances", list}};
}

json function_stats_json(const std::vector<function_instance_snapshot>& instances) {
  std::uint64_t received = 0, processed = 0, system = 0, user = 0, latency_count = 0;
  double latency_sum_ms = 0;
  std::int64_t last = 0;
  json list = json::array();
  for (const auto& i : instances) {
    const auto& m = i.metrics;
    received += m.received;
    processed += m.processed_successfully;
    system += m.system_exceptions;
    user += m.user_exceptions;
    latency_sum_ms += m.process_latency.sum_ms();
    latency_count += m.process_latency.count();
    last = std::max(last, m.last_invocation_ms);
    list.push_back({{"instanceId", i.instance_id},
                    {"metrics",
                     {{"receivedTotal", m.received},
                      {"processedSuccessfullyTotal", m.processed_successfully},
                      {"systemExceptionsTotal", m.system_exceptions},
                      {"userExceptionsTotal", m.user_exceptions},
                      {"avgProcessLatency", average_latency_ms(m)},
                      {"lastInvocation", m.last_invocation_ms}}}});
  }
  const double average =
      latency_count == 0 ? 0.0 : latency_sum_ms / static_cast<double>(latency_count);
  return {{"receivedTotal", received},       {"processedSuccessfullyTotal", processed},
          {"systemExceptionsTotal", system}, {"userExceptionsTotal", user},
          {"avgProcessLatency", average},    {"lastInvocation", last},
          {"instances", std::move(list)}};
}

}  // namespace shfn::flow
