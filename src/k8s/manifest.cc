#include "k8s/manifest.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "base/base64.h"
#include "k8s/yaml_writer.h"

namespace shfn::k8s {

namespace {

using yaml::node;

constexpr std::string_view app_dir = "/app";
// Past the drain deadline, the runtime still closes its consumers and producers and flushes
// the log topic: ten seconds covers those round trips to the broker.
constexpr std::chrono::seconds close_margin{10};

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::string hex(const unsigned char* bytes, unsigned size) {
  std::string out;
  for (unsigned i = 0; i < size; ++i) out += fmt::format("{:02x}", bytes[i]);
  return out;
}

// Text goes to `data`; bytes that are not UTF-8, or hold NUL, to `binaryData` (base64).
bool is_text(std::string_view content) {
  return yaml::valid_utf8(content) && content.find('\0') == std::string_view::npos;
}

node labels(const workload& w) {
  return node::map()
      .add("app.kubernetes.io/name", w.name)
      .add("app.kubernetes.io/component", w.component)
      .add("app.kubernetes.io/managed-by", "shfn");
}

node selector(const workload& w) {
  return node::map()
      .add("app.kubernetes.io/name", w.name)
      .add("app.kubernetes.io/component", w.component);
}

node metadata(const workload& w) {
  return node::map().add("name", w.name).add("labels", labels(w));
}

node config_map(const workload& w, const std::vector<std::string>& keys) {
  std::map<std::string, std::string_view> text, binary;  // sorted by key
  for (std::size_t i = 0; i < w.files.size(); ++i)
    (is_text(w.files[i].content) ? text : binary)[keys[i]] = w.files[i].content;
  auto doc = node::map().add("apiVersion", "v1").add("kind", "ConfigMap");
  doc.add("metadata", metadata(w));
  if (!text.empty()) {
    auto data = node::map();
    for (const auto& [key, content] : text) data.add(key, content);
    doc.add("data", std::move(data));
  }
  if (!binary.empty()) {
    auto data = node::map();
    for (const auto& [key, content] : binary) data.add(key, base64_encode(as_bytes(content)));
    doc.add("binaryData", std::move(data));
  }
  return doc;
}

node service(const workload& w) {
  auto port = node::map()
                  .add("name", "admin")
                  .add("port", admin_port)
                  .add("targetPort", "admin")
                  .add("protocol", "TCP");
  auto ports = node::seq().push(std::move(port));
  if (w.ingress) {
    ports.push(node::map()
                   .add("name", "http")
                   .add("port", ingress_port)
                   .add("targetPort", "http")
                   .add("protocol", "TCP"));
  }
  return node::map()
      .add("apiVersion", "v1")
      .add("kind", "Service")
      .add("metadata", metadata(w))
      .add("spec", node::map()
                       .add("clusterIP", "None")
                       // Pods that are not ready yet (still subscribing) keep their DNS name,
                       // so that their /metrics and /status can be reached.
                       .add("publishNotReadyAddresses", true)
                       .add("selector", selector(w))
                       .add("ports", std::move(ports)));
}

node secret_env(std::string_view name, std::string_view secret, std::string_view key,
                bool optional) {
  auto ref = node::map().add("name", secret).add("key", key);
  if (optional) ref.add("optional", true);
  return node::map()
      .add("name", name)
      .add("valueFrom", node::map().add("secretKeyRef", std::move(ref)));
}

node environment(const manifest_options& o) {
  auto pod_name =
      node::map()
          .add("name", "SHFN_POD_NAME")
          .add("valueFrom",
               node::map().add("fieldRef", node::map().add("fieldPath", "metadata.name")));
  return node::seq()
      // The broker is always the cluster's: with SHFN_URL set, `shfn run` starts no embedded one.
      .push(secret_env("SHFN_URL", o.secret, "url", false))
      .push(secret_env("SHFN_TOKEN", o.secret, "token", true))
      // `shfn run` takes the instance id from the pod name's ordinal ("reverse-2" -> 2).
      .push(std::move(pod_name))
      // The root filesystem is read-only: scratch files and tools' dotfiles go to the emptyDir.
      .push(node::map().add("name", "TMPDIR").add("value", "/tmp"))
      .push(node::map().add("name", "HOME").add("value", "/tmp"));
}

node probe(std::string_view path, int period, int failures) {
  return node::map()
      .add("httpGet", node::map().add("path", path).add("port", "admin"))
      .add("periodSeconds", period)
      .add("timeoutSeconds", 5)
      .add("failureThreshold", failures);
}

node resource_list(const config::resource_list& r) {
  auto out = node::map();
  if (!r.cpu.empty()) out.add("cpu", r.cpu);
  if (!r.memory.empty()) out.add("memory", r.memory);
  return out;
}

node resources(const config::deploy_spec& d) {
  auto out = node::map();
  if (!d.requests.cpu.empty() || !d.requests.memory.empty())
    out.add("requests", resource_list(d.requests));
  if (!d.limits.cpu.empty() || !d.limits.memory.empty()) out.add("limits", resource_list(d.limits));
  return out;
}

node container(const workload& w, const manifest_options& o) {
  auto command = node::seq();
  // tini (the image's entrypoint) stays PID 1: it forwards SIGTERM and reaps orphans. Each pod
  // runs one message at a time; the StatefulSet's replicas give the spec's parallelism.
  for (std::string arg :
       {std::string("tini"), std::string("--"), std::string("shfn"), std::string("run"),
        std::string(app_dir) + "/" + w.spec_path, std::string("--admin"),
        fmt::format("0.0.0.0:{}", admin_port), std::string("--parallelism"), std::string("1"),
        std::string("--drain-timeout"), std::to_string(o.drain_timeout.count())})
    command.push(std::move(arg));
  // A flow's spec also holds the functions and flows it refers to: run the flow alone.
  if (!w.only.empty()) command.push("--only").push(w.only);
  // A Broker's or channel's pods take events over HTTP: POST /NAMESPACE/NAME.
  if (w.ingress) command.push("--ingress").push(fmt::format("0.0.0.0:{}", ingress_port));
  auto security = node::map()
                      .add("allowPrivilegeEscalation", false)
                      .add("readOnlyRootFilesystem", true)
                      .add("capabilities", node::map().add("drop", node::seq().push("ALL")));
  // File by file (subPath), not the whole volume at /app: the image's /app holds the spec's
  // whole directory, and what the spec does not name (a helper a `command` runs, a file a
  // script reads) must stay visible. The ConfigMap's files win over the image's.
  auto mounts = node::seq();
  for (const auto& f : w.files) {
    mounts.push(node::map()
                    .add("name", "app")
                    .add("mountPath", std::string(app_dir) + "/" + f.path)
                    .add("subPath", f.path)
                    .add("readOnly", true));
  }
  mounts.push(node::map().add("name", "tmp").add("mountPath", "/tmp"));
  auto ports = node::seq().push(
      node::map().add("name", "admin").add("containerPort", admin_port).add("protocol", "TCP"));
  if (w.ingress) {
    ports.push(
        node::map().add("name", "http").add("containerPort", ingress_port).add("protocol", "TCP"));
  }
  return node::map()
      .add("name", "shfn")
      .add("image", o.image)
      // A tag loaded into the nodes from a tarball must not be pulled, even when it is :latest.
      .add("imagePullPolicy", "IfNotPresent")
      .add("command", std::move(command))
      .add("env", environment(o))
      .add("ports", std::move(ports))
      // /readyz: every function subscribed (503 before, and while draining).
      .add("readinessProbe", probe("/readyz", 5, 2))
      // /healthz answers while the event loop runs; three misses in a row mean it is stuck.
      .add("livenessProbe", probe("/healthz", 10, 3))
      .add("resources", resources(w.deploy))
      .add("securityContext", std::move(security))
      .add("volumeMounts", std::move(mounts));
}

node volumes(const workload& w, const std::vector<std::string>& keys) {
  auto items = node::seq();
  for (std::size_t i = 0; i < w.files.size(); ++i)
    items.push(node::map().add("key", keys[i]).add("path", w.files[i].path));
  auto config = node::map()
                    .add("name", w.name)
                    // Scripts must be executable; the volume's files are read-only anyway.
                    .add("defaultMode", node(0555).comment("0555"))
                    .add("items", std::move(items));
  return node::seq()
      .push(node::map().add("name", "app").add("configMap", std::move(config)))
      .push(node::map().add("name", "tmp").add("emptyDir", node::map()));
}

node stateful_set(const workload& w, const manifest_options& o,
                  const std::vector<std::string>& keys) {
  auto annotations = node::map()
                         .add("prometheus.io/scrape", "true")
                         .add("prometheus.io/port", std::to_string(admin_port))
                         .add("prometheus.io/path", "/metrics")
                         .add("shfn.dev/config-sha256", config_checksum(w.files, keys));
  auto pod_security = node::map()
                          .add("runAsNonRoot", true)
                          .add("runAsUser", run_as_user)
                          .add("runAsGroup", run_as_user)
                          .add("seccompProfile", node::map().add("type", "RuntimeDefault"));
  auto pod = node::map()
                 .add("terminationGracePeriodSeconds",
                      static_cast<std::int64_t>(termination_grace(w, o.drain_timeout).count()))
                 // Scripts need no Kubernetes API; and no SERVICE_* variables for every Service
                 // in the namespace.
                 .add("automountServiceAccountToken", false)
                 .add("enableServiceLinks", false)
                 .add("securityContext", std::move(pod_security))
                 .add("containers", node::seq().push(container(w, o)))
                 .add("volumes", volumes(w, keys));
  auto tmpl =
      node::map()
          .add("metadata",
               node::map().add("labels", labels(w)).add("annotations", std::move(annotations)))
          .add("spec", std::move(pod));
  return node::map()
      .add("apiVersion", "apps/v1")
      .add("kind", "StatefulSet")
      .add("metadata", metadata(w))
      .add("spec", node::map()
                       .add("serviceName", w.name)
                       .add("replicas", w.replicas)
                       // Instances are peers on a subscription: no reason to start them in turn.
                       .add("podManagementPolicy", "Parallel")
                       .add("selector", node::map().add("matchLabels", selector(w)))
                       .add("template", std::move(tmpl)));
}

}  // namespace

std::vector<std::string> config_keys(const std::vector<app_file>& files) {
  std::vector<std::string> keys;
  std::set<std::string> used;
  for (const auto& f : files) {
    std::string key = f.path.substr(0, 240);
    for (auto& c : key)
      if (!key_char(c)) c = '_';
    if (key.starts_with("..")) key[0] = '_';  // the volume's own "..data" entries start so
    if (key.empty() || key == ".") key = "_";
    std::string unique = key;
    for (int n = 2; used.contains(unique); ++n) unique = fmt::format("{}-{}", key, n);
    used.insert(unique);
    keys.push_back(std::move(unique));
  }
  return keys;
}

std::string config_checksum(const std::vector<app_file>& files,
                            const std::vector<std::string>& keys) {
  std::vector<std::size_t> order(files.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return keys[a] < keys[b]; });
  std::string canonical;
  for (auto i : order) {
    canonical += keys[i];
    canonical += '\0';
    canonical += std::to_string(files[i].content.size());
    canonical += '\0';
    canonical += files[i].content;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EVP_Digest(canonical.data(), canonical.size(), digest, &size, EVP_sha256(), nullptr);
  return hex(digest, size);
}

std::chrono::seconds termination_grace(const workload& w, std::chrono::seconds drain_timeout) {
  const auto kill = std::chrono::ceil<std::chrono::seconds>(w.kill_grace);
  return drain_timeout + close_margin + kill;
}

std::string render_workload(const workload& w, const manifest_options& o) {
  const auto keys = config_keys(w.files);
  const std::string header = fmt::format(
      "Rendered by `shfn k8s render` from {}: {} {}.\n"
      "Edit the spec or its scripts and render again rather than editing this file.",
      o.source_name, w.component, w.name);
  return yaml::write(config_map(w, keys), header) + yaml::write(service(w)) +
         yaml::write(stateful_set(w, o, keys));
}

std::string render_secret(std::string_view name, std::string_view url) {
  auto doc = node::map()
                 .add("apiVersion", "v1")
                 .add("kind", "Secret")
                 .add("metadata",
                      node::map()
                          .add("name", name)
                          .add("labels", node::map().add("app.kubernetes.io/managed-by", "shfn")))
                 .add("type", "Opaque")
                 .add("stringData", node::map().add("url", url));
  return yaml::write(doc,
                     "Rendered by `shfn k8s render --url`: where the pods find Pulsar.\n"
                     "A token never goes here: add it to this Secret as `token` yourself\n"
                     "(see docs/deploy.md).");
}

std::string render_kustomization(const std::vector<std::string>& resources,
                                 std::string_view source_name) {
  auto list = node::seq();
  for (const auto& r : resources) list.push(r);
  auto doc = node::map()
                 .add("apiVersion", "kustomize.config.k8s.io/v1beta1")
                 .add("kind", "Kustomization")
                 .add("resources", std::move(list));
  return yaml::write(doc,
                     fmt::format("Rendered by `shfn k8s render -o` from {}.\n"
                                 "Apply everything here with `kubectl apply -k DIRECTORY`.",
                                 source_name),
                     false);
}

}  // namespace shfn::k8s
