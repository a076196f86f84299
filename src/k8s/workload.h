#pragma once
// What becomes one StatefulSet: a name, the spec text its pods run and the files that text
// needs, all of it shipped in the workload's ConfigMap and mounted at /app. A function with
// inputs is one workload, and so is each flow (Parallel, Sequence) and cron source; a function
// without inputs runs only as a flow's step, inside that flow's pods.
//
// Building reads the spec's scripts from disk; nothing else here does I/O.

#include <chrono>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "config/spec.h"

namespace shfn::k8s {

// A file the pods see under /app.
struct app_file {
  std::string path;     // relative to /app: "reverse.yaml", "lib/util.sh"
  std::string content;  // bytes, as on disk
};

struct workload {
  std::string name;  // names the ConfigMap, the Service and the StatefulSet
  // app.kubernetes.io/component: "function", "flow", "source", "broker" or "channel"
  std::string component;
  config::location where;
  std::string field;      // for errors about the name: "reverse.metadata.name"
  std::string spec_path;  // the spec's path under /app: the pods run `shfn run /app/<spec_path>`
  std::vector<app_file> files;  // the spec first, then the files it names, by path
  // Non-empty: the pods run `shfn run ... --only <only>`. A flow's spec also holds the
  // documents it refers to, which must not run on their own in its pods.
  std::string only;
  int replicas = 1;
  config::deploy_spec deploy;
  // How long stopping may take past the drain deadline because of the workload's own
  // processes: the longest SIGTERM-to-SIGKILL grace of its scripts.
  std::chrono::milliseconds kill_grace{0};
  // A Broker, a channel: the pods serve the HTTP ingress (shfn run --ingress), the Service
  // exposes it as port `http`.
  bool ingress = false;
};

using workloads_result = tl::expected<std::vector<workload>, std::vector<config::spec_error>>;

// Every workload of `spec` (loaded from `spec.path`, whose text is `source`) in document order:
// those of function_workloads and flow_workloads together, each problem reported once.
workloads_result spec_workloads(const config::spec_file& spec, std::string_view source);

// One workload per function of `spec` that has inputs (or a topicsPattern). Each carries only
// its own document (checked by loading it again, as a pod will) and its script; `replicas` is
// its parallelism. Fails, naming the function, for what a pod could not run: a script or
// workingDir outside the spec's directory (the image holds that directory as /app, and nothing
// else of the host).
workloads_result function_workloads(const config::spec_file& spec, std::string_view source);

// One workload per Parallel and Sequence (component "flow") and per cron source ("source"), in
// document order. Its spec is the flow's document and those of every document it refers to,
// transitively (the Functions its steps run, what its sinks name: loading needs them all), cut
// out as written and checked by loading them together; its files are those functions' scripts;
// its pods run it alone (`only`). One replica: a Parallel or Sequence scales with kubectl (its
// stages share Shared subscriptions), a cron source must have exactly one. Fails as
// function_workloads does for the functions it refers to.
workloads_result flow_workloads(const config::spec_file& spec, std::string_view source);

}  // namespace shfn::k8s
