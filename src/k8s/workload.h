#pragma once
// What becomes one StatefulSet: a name, the spec text its pods run and the files that text
// needs, all of it shipped in the workload's ConfigMap and mounted at /app. A function is one
// workload today; a flow will be one more (its documents and its functions' scripts), rendered
// the same way.
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
  std::string name;       // names the ConfigMap, the Service and the StatefulSet
  std::string component;  // app.kubernetes.io/component: "function"
  config::location where;
  std::string field;      // for errors about the name: "reverse.metadata.name"
  std::string spec_path;  // the spec's path under /app: the pods run `shfn run /app/<spec_path>`
  std::vector<app_file> files;  // the spec first, then the files it names, by path
  int replicas = 1;
  config::deploy_spec deploy;
  // How long stopping may take past the drain deadline because of the workload's own
  // processes: the longest SIGTERM-to-SIGKILL grace of its scripts.
  std::chrono::milliseconds kill_grace{0};
};

using workloads_result = tl::expected<std::vector<workload>, std::vector<config::spec_error>>;

// One workload per function of `spec`, loaded from `spec.path` whose text is `source`. Each
// carries only its own document (checked by loading it again, as a pod will) and its script.
// Fails, naming the function, for what a pod could not run: a script or workingDir outside the
// spec's directory (the image holds that directory as /app, and nothing else of the host).
workloads_result function_workloads(const config::spec_file& spec, std::string_view source);

}  // namespace shfn::k8s
