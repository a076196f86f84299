// `shfn image build SPEC.yaml [-t NAME:TAG] [-o image.tar]`: an OCI image of a spec's functions,
// built with buildah (no Docker daemon). See src/image/README.md and docs/deploy.md.

#include <cctype>
#include <filesystem>
#include <memory>
#include <string>

#include "base/version.h"
#include "cli/common.h"
#include "config/spec.h"
#include "image/build.h"

namespace shfn::cli {
namespace {

struct build_flags {
  std::string spec;
  std::string tag;
  std::string format = "docker";
  bool no_strip = false;
  bool dry_run = false;
  image::build_options options;
};

// shfn/<spec file's stem>:latest, the name `shfn k8s render` assumes when given no --image.
std::string default_tag(const std::string& spec) {
  std::string stem = std::filesystem::path(spec).stem().string();
  for (auto& c : stem) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '-';
  }
  while (!stem.empty() && !std::isalnum(static_cast<unsigned char>(stem.front()))) stem.erase(0, 1);
  while (!stem.empty() && !std::isalnum(static_cast<unsigned char>(stem.back()))) stem.pop_back();
  return "shfn/" + (stem.empty() ? std::string("function") : stem) + ":latest";
}

std::string megabytes(std::uintmax_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

int build(build_flags& f) {
  auto reference = image::normalize_reference(f.tag.empty() ? default_tag(f.spec) : f.tag);
  if (!reference) {
    fmt::print(stderr, "shfn: {}\n", reference.error().message);
    return 2;
  }
  auto& o = f.options;
  o.reference = *reference;
  o.docker_archive = f.format == "docker";
  o.strip = !f.no_strip;
  o.progress = [](const std::string& line) {
    fmt::print(stderr, "shfn image: {}\n", line);
    std::fflush(stderr);
  };

  // Before the spec and the host are examined: the one missing tool most users will meet.
  if (!f.dry_run) {
    if (auto ok = image::check_buildah(); !ok) return error("image build", ok.error().message);
  }
  auto spec = config::load_file(f.spec);
  if (!spec) {
    for (const auto& e : spec.error()) fmt::print(stderr, "{}\n", e.to_string());
    return 1;
  }
  auto plan = image::plan_image(*spec, o);
  if (!plan) {
    fmt::print(stderr, "{}\n", plan.error().message);
    return 1;
  }
  if (f.dry_run) {
    fmt::print("{}", image::describe(*plan, o.reference, std::string(version())));
    std::fflush(stdout);
    return 0;
  }
  auto report = image::build_image(*plan, o);
  if (!report) return error("image build", report.error().message);
  fmt::print("built {} (image {}, {}) in {:.1f} s\n", report->reference,
             report->image_id.substr(0, 12), report->image_size, report->seconds);
  if (!report->archive.empty()) {
    fmt::print("wrote {} ({}, {}-archive): load it with `podman load -i {}`{}\n", report->archive,
               megabytes(report->archive_bytes), f.format, report->archive,
               o.docker_archive ? " or `docker load -i " + report->archive + "`" : "");
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

void setup_image(CLI::App& app, int& exit_code) {
  auto* image = app.add_subcommand("image", "OCI images of functions");
  image->require_subcommand(1);
  auto f = std::make_shared<build_flags>();
  auto* cmd = image->add_subcommand(
      "build",
      "Build an image holding shfn, the spec and its directory (/app), with buildah; no Docker "
      "daemon needed");
  cmd->add_option("spec", f->spec, "Spec file (YAML); its directory becomes /app")->required();
  cmd->add_option("-t,--tag", f->tag, "Image name NAME[:TAG] (default: shfn/<spec stem>:latest)");
  cmd->add_option("-o,--output", f->options.output,
                  "Also write the image to this archive, for `podman load` / `docker load`");
  cmd->add_option("--format", f->format,
                  "Archive format for -o: docker (docker-archive: podman, docker, kind and "
                  "containerd load it) or oci (oci-archive, compressed)")
      ->transform(one_of({"oci", "docker"}))
      ->capture_default_str();
  cmd->add_option("--shfn", f->options.shfn_binary,
                  "shfn binary to put in the image (default: this one)");
  cmd->add_flag("--no-strip", f->no_strip, "Keep shfn's debug info in the image");
  cmd->add_option("--cache-dir", f->options.cache_dir,
                  "Where base stages are kept (default: $SHFN_CACHE/image or "
                  "~/.cache/shfn/image)");
  cmd->add_option("--root", f->options.root, "buildah's storage root (default: buildah's own)");
  cmd->add_option("--runroot", f->options.runroot, "buildah's run root (default: buildah's own)");
  cmd->add_option("--storage-driver", f->options.storage_driver, "buildah's storage driver")
      ->capture_default_str();
  cmd->add_option("--mirror", f->options.mirror,
                  "Debian mirror for debootstrap and apt (default: the one this machine uses)");
  cmd->add_flag("--refresh-base", f->options.refresh_base,
                "Rebuild the cached base (debootstrap and apt-get again), e.g. for security "
                "updates");
  cmd->add_flag("--dry-run", f->dry_run,
                "Print the files, packages and Containerfiles; build nothing");
  cmd->add_flag("-v,--verbose", f->options.verbose, "Show the output of debootstrap and buildah");
  cmd->callback([f, &exit_code] { exit_code = build(*f); });
}

}  // namespace shfn::cli
