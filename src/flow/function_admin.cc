#include "flow/function_admin.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

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
  json env = json::object();
  for (const auto& [name, value] : spec.env) env[name] = value;
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
      {"killGraceMs", spec.kill_grace.count()},
      {"maxOutputBytes", spec.max_output_bytes},
      {"env", std::move(env)},
  };
  // What a spec file may only give in some combinations, only where it was given (or derived
  // from what was): so that this object, sent back as an update, loads.
  if (spec.subscription_explicit) out["subscriptionType"] = config::to_string(spec.subscription);
  if (spec.mode == config::run_mode::stream) out["framing"] = config::to_string(spec.frames);
  if (spec.input == config::input_style::arg) out["input"] = config::to_string(spec.input);
  if (spec.output_batching != config::batching_spec{}) {
    const auto& b = spec.output_batching;
    out["producerConfig"] = {{"batchingConfig",
                              {{"enabled", b.enabled},
                               {"batchingMaxPublishDelayMs", b.max_publish_delay.count()},
                               {"batchingMaxMessages", b.max_messages},
                               {"batchingMaxBytes", b.max_bytes}}}};
  }
  if (!spec.topics_pattern.empty()) out["topicsPattern"] = spec.topics_pattern;
  if (!spec.output.empty()) out["output"] = spec.output;
  if (!spec.log_topic.empty()) out["logTopic"] = spec.log_topic;
  if (!spec.dead_letter_topic.empty()) out["deadLetterTopic"] = spec.dead_letter_topic;
  return out;
}

namespace {

// FunctionConfig fields that are a spec file's fields of the same name: all of them but the
// script (the uploaded file, named by go) and the working directory (the one it is kept in).
bool a_spec_field(const std::string& field) {
  return field != "script" && field != "workingDir" &&
         std::ranges::count(config::function_fields(), field) > 0;
}

// Fields pulsar-admin sends, accepted with the value that asks shfn for nothing it does not do.
bool asks_nothing(const std::string& field, const json& value) {
  if (field == "outputSchemaType") return value == "";
  if (field == "forwardSourceMessageProperty" || field == "autoAck") return value == true;
  if (field == "cleanupSubscription") return value == false;
  if (field == "runtime") return value == "GO";
  return false;
}

}  // namespace

tl::expected<json, std::string> function_document(const json& config, const std::string& name,
                                                  json spec, std::string_view uploaded) {
  if (!config.is_object())
    return tl::unexpected(std::string("functionConfig: expected a JSON object"));
  const auto where = [](std::string_view field, std::string_view value) {
    return field == "tenant" ? value == functions_tenant : value == functions_namespace;
  };
  for (const auto& [field, value] : config.items()) {
    const bool spec_field = a_spec_field(field);
    if (value.is_null()) {  // back to its default (pulsar-admin leaves out what it does not set)
      if (spec_field || field == "subName")
        spec.erase(field == "subName" ? "subscriptionName" : field);
      continue;
    }
    if (field == "tenant" || field == "namespace") {
      if (!value.is_string() || !where(field, value.get<std::string>())) {
        return tl::unexpected(
            fmt::format("functionConfig: {} {}: shfn run's Functions live in {}/{}", field,
                        value.dump(), functions_tenant, functions_namespace));
      }
    } else if (field == "name") {
      if (value != name) {
        return tl::unexpected(fmt::format("functionConfig: name {} is not {}, the name in the path",
                                          value.dump(), name));
      }
    } else if (spec_field) {
      spec[field] = value;
      if (field == "command") spec.erase("script");
    } else if (field == "subName") {
      spec["subscriptionName"] = value;
    } else if (field == "go") {
      if (uploaded.empty()) {
        return tl::unexpected("functionConfig: go names " + value.dump() +
                              ", but no file came with it (the form's data part)");
      }
      spec["script"] = "./" + std::string(uploaded);
      spec.erase("command");
    } else if (field == "jar" || field == "py" || field == "className") {
      return tl::unexpected("functionConfig: " + field +
                            ": shfn run runs executables, not Java or Python functions: give the "
                            "executable as --go FILE (any executable file), or shfn's command");
    } else if (!asks_nothing(field, value)) {
      return tl::unexpected(
          fmt::format("functionConfig: {} {} is not supported by shfn run", field, value.dump()));
    }
  }
  if (!uploaded.empty() && !spec.contains("script")) {
    return tl::unexpected(
        std::string("a file came (the form's data part), but functionConfig has no go naming it"));
  }
  return json{{"apiVersion", "shfn.dev/v1alpha1"},
              {"kind", "Function"},
              {"metadata", {{"name", name}}},
              {"spec", std::move(spec)}};
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

namespace {

// Pulsar's oneMin: the counters' growth over the last minute (since the oldest sample kept),
// and shfn's rates per second over the same span; zeros before the first sample.
struct minute_figures {
  json one_min;
  json rates;
};

minute_figures last_minute(const function::function_metrics& m, std::int64_t now_ms) {
  const auto oldest = m.last_minute.oldest().value_or(
      function::minute_window::sample{.at_ms = now_ms,
                                      .received = m.received,
                                      .processed = m.processed_successfully,
                                      .user_exceptions = m.user_exceptions,
                                      .system_exceptions = m.system_exceptions});
  const auto received = m.received - oldest.received;
  const auto processed = m.processed_successfully - oldest.processed;
  const double seconds =
      static_cast<double>(std::max<std::int64_t>(now_ms - oldest.at_ms, 0)) / 1000;
  const auto per_second = [seconds](std::uint64_t n) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
  };
  return {.one_min = {{"receivedTotal", received},
                      {"processedSuccessfullyTotal", processed},
                      {"systemExceptionsTotal", m.system_exceptions - oldest.system_exceptions},
                      {"userExceptionsTotal", m.user_exceptions - oldest.user_exceptions},
                      {"avgProcessLatency", average_latency_ms(m)}},
          .rates = {{"received", per_second(received)},
                    {"processedSuccessfully", per_second(processed)},
                    {"overSeconds", seconds}}};
}

// The recent process latencies' quantiles (the last 1024 messages); nulls before any.
json latency_quantiles(const function::function_metrics& m) {
  json out = json::object();
  for (const auto& [name, q] :
       {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}}) {
    const double ms = m.process_latency.quantile_ms(q);
    out[name] = std::isnan(ms) ? json(nullptr) : json(ms);
  }
  return out;
}

}  // namespace

json function_stats_json(const std::vector<function_instance_snapshot>& instances,
                         std::int64_t now_ms) {
  std::uint64_t received = 0, processed = 0, system = 0, user = 0, latency_count = 0;
  double latency_sum_ms = 0;
  std::int64_t last = 0;
  json list = json::array();
  json one_min = {{"receivedTotal", 0},
                  {"processedSuccessfullyTotal", 0},
                  {"systemExceptionsTotal", 0},
                  {"userExceptionsTotal", 0}};
  for (const auto& i : instances) {
    const auto& m = i.metrics;
    received += m.received;
    processed += m.processed_successfully;
    system += m.system_exceptions;
    user += m.user_exceptions;
    latency_sum_ms += m.process_latency.sum_ms();
    latency_count += m.process_latency.count();
    last = std::max(last, m.last_invocation_ms);
    auto minute = last_minute(m, now_ms);
    for (auto& [key, total] : one_min.items())
      total = total.get<std::uint64_t>() + minute.one_min[key].get<std::uint64_t>();
    list.push_back({{"instanceId", i.instance_id},
                    {"metrics",
                     {{"receivedTotal", m.received},
                      {"processedSuccessfullyTotal", m.processed_successfully},
                      {"systemExceptionsTotal", m.system_exceptions},
                      {"userExceptionsTotal", m.user_exceptions},
                      {"avgProcessLatency", average_latency_ms(m)},
                      {"lastInvocation", m.last_invocation_ms},
                      {"oneMin", std::move(minute.one_min)},
                      {"ratesPerSecond", std::move(minute.rates)},
                      {"processLatencyMs", latency_quantiles(m)}}}});
  }
  const double average =
      latency_count == 0 ? 0.0 : latency_sum_ms / static_cast<double>(latency_count);
  one_min["avgProcessLatency"] = average;
  return {{"receivedTotal", received},       {"processedSuccessfullyTotal", processed},
          {"systemExceptionsTotal", system}, {"userExceptionsTotal", user},
          {"avgProcessLatency", average},    {"lastInvocation", last},
          {"oneMin", std::move(one_min)},    {"instances", std::move(list)}};
}

}  // namespace shfn::flow
