// `shfn k8s render SPEC.yaml`: Kubernetes manifests for a spec's functions, flows and cron
// sources, on stdout as one multi-document YAML stream, or with -o DIR one file per workload
// plus a kustomization.yaml.

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "cli/common.h"
#include "k8s/render.h"

namespace shfn::cli {
namespace {

struct render_flags {
  std::string spec;
  std::string out_dir;
  k8s::render_options options;
  int drain_seconds = 30;  // whole seconds: terminationGracePeriodSeconds is an integer
};

bool write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return out.good();
}

int render(render_flags f) {
  f.options.drain_timeout = std::chrono::seconds(f.drain_seconds);
  if (auto problem = k8s::check_options(f.options); !problem.empty()) {
    fmt::print(stderr, "shfn: {}\n", problem);
    return 2;
  }
  auto r = k8s::render_file(f.spec, f.options);
  if (!r) {
    for (const auto& e : r.error()) fmt::print(stderr, "{}\n", e.to_string());
    return 1;
  }
  if (f.out_dir.empty()) {
    for (const auto& m : r->manifests) fmt::print("{}", m.text);
    std::fflush(stdout);
    return 0;
  }
  const std::filesystem::path dir(f.out_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return error("cannot create " + f.out_dir, ec.message());
  auto files = r->manifests;
  files.push_back(r->kustomization);
  for (const auto& m : files) {
    if (!write_file(dir / m.name, m.text))
      return error("cannot write " + (dir / m.name).string(), std::strerror(errno));
    fmt::print("{}\n", (dir / m.name).string());
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

void setup_k8s(CLI::App& app, int& exit_code) {
  auto* k8s = app.add_subcommand("k8s", "Kubernetes manifests for functions and flows");
  k8s->require_subcommand(1);
  auto f = std::make_shared<render_flags>();
  auto* cmd = k8s->add_subcommand(
      "render",
      "Print a ConfigMap, a headless Service and a StatefulSet for each function (with "
      "inputs), flow and cron source of a spec");
  cmd->add_option("spec", f->spec, "Spec file (YAML)")->required();
  cmd->add_option("--image", f->options.image,
                  "Image the pods run (default: shfn/<spec file name>:latest)");
  cmd->add_option("--url", f->options.url,
                  "Also print a Secret holding this broker URL (pulsar:// or pulsar+ssl://); "
                  "without it, create the Secret yourself (docs/deploy.md)");
  cmd->add_option("--secret", f->options.secret,
                  "Secret the pods read `url` and, if present, `token` from")
      ->capture_default_str();
  cmd->add_option("--drain-timeout", f->drain_seconds,
                  "Seconds a stopping pod lets in-flight messages finish (its termination grace "
                  "period is longer)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-o,--output-dir", f->out_dir,
                  "Write NAME.yaml per workload and a kustomization.yaml into this directory "
                  "instead of printing");
  cmd->callback([f, &exit_code] { exit_code = render(*f); });
}

}  // namespace shfn::cli
