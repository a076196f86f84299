#pragma once
// The answers of Pulsar's functions API (/admin/v3/functions/{tenant}/{namespace}/{name}...) for
// the Functions a `shfn run` runs, in the JSON shapes `pulsar-admin functions get`, `status` and
// `stats` read: FunctionConfig, FunctionStatus and FunctionStats. shfn's Functions live in
// public/default, the namespace pulsar-admin assumes when none is given.
//
// Pure: snapshots in (taken by the runtime on each instance's shard), JSON out.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "config/function.h"
#include "function/metrics.h"

namespace shfn::flow {

inline constexpr std::string_view functions_tenant = "public";
inline constexpr std::string_view functions_namespace = "default";

// The sources API's path segment: /admin/v3/sources/..., and /admin/v3/source/..., which is
// where pulsar-admin (4.0) sends its `sources` commands.
inline bool sources_path(std::string_view segment) {
  return segment == "sources" || segment == "source";
}

// One instance of a Function as the API shows it; `running` false for a stopped Function,
// whose counters are then zeros.
struct function_instance_snapshot {
  int instance_id = 0;
  bool running = false;
  int restarts = 0;  // stream workers started again
  function::function_metrics metrics;
};

// FunctionConfig: what pulsar-admin functions get prints, and shfn's own settings (command,
// mode, framing, ...) beside it under their spec-file names; the working directory aside (a
// Function made through the API runs in the directory it is kept in).
nlohmann::json function_config_json(const config::function_spec& spec);

// The other way: the spec document (kind: Function) that shfn keeps for a Function made or
// changed through the API, from the FunctionConfig that `pulsar-admin functions create` or
// `update` sends (or that get answered). Its fields go into `spec`, the spec fields so far (an
// empty object for a create), under their spec-file names: subName as subscriptionName, go as
// `script: ./UPLOADED`, the file uploaded with it; a field given as null goes back to its
// default. A field shfn cannot honour is refused by name (unless it has the value that asks for
// nothing, as pulsar-admin's defaults do).
tl::expected<nlohmann::json, std::string> function_document(const nlohmann::json& config,
                                                            const std::string& name,
                                                            nlohmann::json spec,
                                                            std::string_view uploaded);
// FunctionStatus: numInstances, numRunning, and per instance its counters and last error.
nlohmann::json function_status_json(const std::vector<function_instance_snapshot>& instances);
// FunctionStats: totals, average latency, the last minute's growth (oneMin), and per instance
// the same with shfn's rates per second over that minute and its recent latency quantiles;
// `now_ms` (since the epoch) ends the minute.
nlohmann::json function_stats_json(const std::vector<function_instance_snapshot>& instances,
                                   std::int64_t now_ms);

}  // namespace shfn::flow
