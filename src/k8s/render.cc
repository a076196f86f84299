#include "k8s/render.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "config/spec.h"
#include "k8s/manifest.h"
#include "k8s/quantity.h"
#include "k8s/workload.h"

namespace shfn::k8s {

namespace {

namespace fs = std::filesystem;

// What Kubernetes accepts in a ConfigMap: keys and values together.
constexpr std::size_t max_config_bytes = 1 << 20;
// A StatefulSet's pods carry the label controller-revision-hash = NAME-HASH (ten characters),
// and label values stop at 63.
constexpr std::size_t max_name = 52;

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void check_name(const workload& w, std::vector<config::spec_error>& errors) {
  // The loader already holds names to DNS labels; a Service's name must also start with a
  // letter (RFC 1035).
  if (w.name.empty() || w.name[0] < 'a' || w.name[0] > 'z') {
    errors.push_back({w.where, w.field,
                      fmt::format("\"{}\" cannot name a Kubernetes Service: it must start with "
                                  "a letter",
                                  w.name)});
  }
  if (w.name.size() > max_name) {
    errors.push_back({w.where, w.field,
                      fmt::format("\"{}\" is {} characters; a StatefulSet's name can have at "
                                  "most {} (its pods' controller-revision-hash label adds 11)",
                                  w.name, w.name.size(), max_name)});
  }
  if (w.name + ".yaml" == "kustomization.yaml") {
    errors.push_back({w.where, w.field,
                      "\"kustomization\" cannot name a workload: its manifest file would "
                      "be kustomization.yaml"});
  }
}

void check_size(const workload& w, const std::vector<std::string>& keys,
                std::vector<config::spec_error>& errors) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < w.files.size(); ++i)
    total += keys[i].size() + w.files[i].content.size();
  if (total > max_config_bytes) {
    errors.push_back({w.where, w.name,
                      fmt::format("the spec and scripts come to {} bytes; a ConfigMap holds at "
                                  "most {}",
                                  total, max_config_bytes)});
  }
}

void check_resource(const workload& w, std::string_view name, const std::string& request,
                    const std::string& limit, std::vector<config::spec_error>& errors) {
  if (request.empty() || limit.empty()) return;
  auto r = quantity_value(request);
  auto l = quantity_value(limit);
  if (r && l && *r > *l) {
    errors.push_back({w.where, fmt::format("{}.spec.deploy.resources.requests.{}", w.name, name),
                      fmt::format("the request {} is above the limit {}; Kubernetes refuses "
                                  "that (the default memory limit is 512Mi)",
                                  request, limit)});
  }
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return text;
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7F; });
}

}  // namespace

std::string default_image(const std::string& spec_path) {
  std::string stem = fs::path(spec_path).stem().string();
  for (auto& c : stem) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!lower_alnum(c) && c != '.' && c != '_' && c != '-') c = '-';
  }
  while (!stem.empty() && !lower_alnum(stem.front())) stem.erase(0, 1);
  while (!stem.empty() && !lower_alnum(stem.back())) stem.pop_back();
  return fmt::format("shfn/{}:latest", stem.empty() ? "function" : stem);
}

std::string check_options(const render_options& o) {
  if (!o.url.empty()) {
    const bool scheme = o.url.starts_with("pulsar://") || o.url.starts_with("pulsar+ssl://");
    if (!scheme || o.url.ends_with("://") || !printable_ascii(o.url))
      return fmt::format("invalid --url {}: expected pulsar://HOST:PORT or pulsar+ssl://HOST:PORT",
                         o.url);
  }
  const bool secret_ok = !o.secret.empty() && o.secret.size() <= 253 &&
                         lower_alnum(o.secret.front()) && lower_alnum(o.secret.back()) &&
                         std::all_of(o.secret.begin(), o.secret.end(),
                                     [](char c) { return lower_alnum(c) || c == '-' || c == '.'; });
  if (!secret_ok)
    return fmt::format(
        "invalid --secret {}: expected a DNS subdomain (lowercase letters, digits, "
        "'-' and '.')",
        o.secret);
  if (!o.image.empty() && !printable_ascii(o.image))
    return fmt::format("invalid --image \"{}\": no spaces or control characters", o.image);
  if (o.drain_timeout.count() < 0) return "invalid --drain-timeout: must not be negative";
  return {};
}

render_result render_file(const std::string& spec_path, const render_options& options) {
  auto spec = config::load_file(spec_path);
  if (!spec) return tl::unexpected(spec.error());
  auto source = read_text(spec_path);
  if (!source) {
    return tl::unexpected(
        std::vector<config::spec_error>{{config::location{spec_path}, "", "cannot read"}});
  }
  auto workloads = spec_workloads(*spec, *source);
  if (!workloads) return tl::unexpected(workloads.error());
  if (workloads->empty()) {
    return tl::unexpected(std::vector<config::spec_error>{
        {config::location{spec_path}, "", "no function, flow or cron source to render"}});
  }

  std::vector<config::spec_error> errors;
  for (const auto& w : *workloads) {
    check_name(w, errors);
    check_size(w, config_keys(w.files), errors);
    check_resource(w, "cpu", w.deploy.requests.cpu, w.deploy.limits.cpu, errors);
    check_resource(w, "memory", w.deploy.requests.memory, w.deploy.limits.memory, errors);
  }
  if (!errors.empty()) return tl::unexpected(std::move(errors));

  const manifest_options mo{
      .image = options.image.empty() ? default_image(spec_path) : options.image,
      .secret = options.secret,
      .drain_timeout = options.drain_timeout,
      .source_name = fs::path(spec_path).filename().string()};
  rendered out;
  if (!options.url.empty()) {
    out.manifests.push_back({.name = options.secret + ".secret.yaml",
                             .text = render_secret(options.secret, options.url)});
  }
  for (const auto& w : *workloads)
    out.manifests.push_back({.name = w.name + ".yaml", .text = render_workload(w, mo)});
  std::vector<std::string> names;
  for (const auto& m : out.manifests) names.push_back(m.name);
  out.kustomization = {.name = "kustomization.yaml",
                       .text = render_kustomization(names, mo.source_name)};
  return out;
}

}  // namespace shfn::k8s
