#pragma once
// A workload's Kubernetes objects: a ConfigMap with its spec and scripts, a headless Service for
// the admin port, and a StatefulSet whose pods run `shfn run` on them. Pure: the same workload
// and options give the same bytes.
//
// The pods assume the image `shfn image build` makes: `tini` and `shfn` on the PATH, a non-root
// user (uid and gid 10001), the spec's directory at /app. The spec and the scripts it names come
// from the ConfigMap, each file mounted over the image's copy, so changing them needs no new
// image; the rest of /app is the image's.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "k8s/workload.h"

namespace shfn::k8s {

inline constexpr int admin_port = 8081;
inline constexpr int ingress_port = 8082;  // a Broker's or channel's HTTP ingress
inline constexpr int run_as_user = 10001;  // the image's user and group

struct manifest_options {
  std::string image;
  std::string secret;  // holds `url` and, optionally, `token`
  std::chrono::seconds drain_timeout{30};
  std::string source_name;  // the spec file's name, for the header comment
};

// The ConfigMap key of each file (same order): its path with what a key cannot hold ('/'
// included) turned into '_', made unique.
std::vector<std::string> config_keys(const std::vector<app_file>& files);

// SHA-256 (hex) over the ConfigMap's entries sorted by key, each as
// KEY NUL DECIMAL-LENGTH NUL BYTES: the pod template's annotation, so that a change in the spec
// or a script rolls the pods.
std::string config_checksum(const std::vector<app_file>& files,
                            const std::vector<std::string>& keys);

// The drain deadline plus what stopping needs after it: closing consumers and producers,
// flushing the log topic, and SIGTERM-to-SIGKILL for the workload's processes.
std::chrono::seconds termination_grace(const workload& w, std::chrono::seconds drain_timeout);

// ConfigMap, Service and StatefulSet, as one multi-document YAML text.
std::string render_workload(const workload& w, const manifest_options& options);

// The Secret the pods read the broker URL from, holding `url` only.
std::string render_secret(std::string_view name, std::string_view url);

// A kustomization.yaml listing `resources`, so that `kubectl apply -k DIR` applies them all.
std::string render_kustomization(const std::vector<std::string>& resources,
                                 std::string_view source_name);

}  // namespace shfn::k8s
