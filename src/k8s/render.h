#pragma once
// `shfn k8s render`: a spec file to Kubernetes manifests, one file per workload (ConfigMap,
// headless Service, StatefulSet), a Secret with the broker URL when one is given, and a
// kustomization.yaml listing them. Deterministic: the same spec, scripts and options give the
// same bytes, wherever it is run from.

#include <chrono>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "config/error.h"

namespace shfn::k8s {

struct render_options {
  std::string image;  // empty: "shfn/<spec file name without extension>:latest"
  std::string url;    // non-empty: also render the Secret, holding this URL
  std::string secret = "shfn-pulsar";
  std::chrono::seconds drain_timeout{30};
};

struct rendered_file {
  std::string name;  // "reverse.yaml", "shfn-pulsar.secret.yaml", "kustomization.yaml"
  std::string text;
};

struct rendered {
  std::vector<rendered_file> manifests;  // the Secret (if any) first, then workloads in spec order
  rendered_file kustomization;
};

using render_result = tl::expected<rendered, std::vector<config::spec_error>>;

// Loads `spec_path` as `shfn run` does and renders it. Errors name the file, line and field,
// as `shfn validate` does: the spec's own, and what a pod could not run (see workload.h), a
// name Kubernetes refuses, a ConfigMap over 1 MiB, a resource request above its limit.
render_result render_file(const std::string& spec_path, const render_options& options);

// What is wrong with the options, or "" (a URL that is not pulsar:// or pulsar+ssl://, a
// Secret name that is not a DNS subdomain, an image name with spaces).
std::string check_options(const render_options& options);

// The image when none is given: "shfn/reverse:latest" for reverse.yaml.
std::string default_image(const std::string& spec_path);

}  // namespace shfn::k8s
