#pragma once
// The answers of Pulsar's functions API (/admin/v3/functions/{tenant}/{namespace}/{name}...) for
// the Functions a `shfn run` runs, in the JSON shapes `pulsar-admin functions get`, `status` and
// `stats` read: FunctionConfig, FunctionStatus and FunctionStats. shfn's Functions live in
// public/default, the namespace pulsar-admin assumes when none is given.
//
// Pure: snapshots in (taken by the runtime on each instance's shard), JSON out.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/function.h"
#include "function/metrics.h"

namespace shfn::flow {

inline constexpr std::string_view functions_tenant = "public";
inline constexpr std::string_view functions_namespace = "default";

// One instance of a Function as the API shows it; `running` false for a stopped Function,
// whose counters are then zeros.
struct function_instance_snapshot {
  int instance_id = 0;
  bool running = false;
  int restarts = 0;  // stream workers started again
  function::function_metrics metrics;
};

// FunctionConfig: what pulsar-admin functions get prints, and shfn's own settings
// (command, mode) beside it.
nlohmann::json function_config_json(const config::function_spec& spec);
// FunctionStatus: numInstances, numRunning, and per instance its counters and last error.
nlohmann::json function_status_json(const std::vector<function_instance_snapshot>& instances);
// FunctionStats: totals, average latency, and per instance the same.
nlohmann::json function_stats_json(const std::vector<function_instance_snapshot>& instances);

}  // namespace shfn::flow
