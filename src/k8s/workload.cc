#include "k8s/workload.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "k8s/documents.h"

namespace shfn::k8s {

namespace {

namespace fs = std::filesystem;

// The directory relative paths in the spec start at, as config::load_file computes it.
fs::path spec_dir(const std::string& path) {
  std::error_code ec;
  fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  if (ec) dir = fs::path(path).parent_path();
  return dir.lexically_normal();
}

// `p` relative to `dir` when it is inside it ("" for `dir` itself), else nullopt.
std::optional<std::string> inside(const fs::path& p, const fs::path& dir) {
  const auto rel = fs::path(p).lexically_normal().lexically_relative(dir);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  return rel == "." ? std::string() : rel.generic_string();
}

std::optional<std::string> read_bytes(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    error = fmt::format("cannot read {}: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  return bytes;
}

class function_builder {
 public:
  function_builder(const config::spec_file& spec, std::string_view source,
                   std::vector<config::spec_error>& errors)
      : spec_(spec), source_(source), dir_(spec_dir(spec.path)), errors_(errors) {}

  std::optional<workload> build(const config::function_spec& fn) {
    workload w{.name = fn.name,
               .component = "function",
               .where = fn.where,
               .field = fn.name + ".metadata.name",
               .spec_path = fs::path(spec_.path).filename().string(),
               .replicas = fn.parallelism,
               .deploy = fn.deploy,
               .kill_grace = fn.kill_grace};
    auto doc = own_document(fn);
    if (!doc) return std::nullopt;
    w.files.push_back({.path = w.spec_path, .content = std::move(*doc)});
    if (!fn.script.empty()) {
      auto rel = inside(fn.script, dir_);
      if (!rel) {
        return fail(fn, "spec.script",
                    fmt::format("{} is outside the spec's directory {}: a pod sees only that "
                                "directory (as /app), so move the script into it, or run a "
                                "program the image installs with `command`",
                                fn.script, dir_.string()));
      }
      std::string error;
      auto bytes = read_bytes(fn.script, error);
      if (!bytes) return fail(fn, "spec.script", error);
      w.files.push_back({.path = *rel, .content = std::move(*bytes)});
    }
    if (!working_dir_exists(fn)) {
      return fail(fn, "spec.workingDir",
                  fmt::format("{} will not exist in a pod: of the host's files, only the spec's "
                              "directory {} is there (as /app); /tmp is writable",
                              fn.working_dir, dir_.string()));
    }
    std::sort(w.files.begin() + 1, w.files.end(),
              [](const app_file& a, const app_file& b) { return a.path < b.path; });
    return w;
  }

 private:
  // The function's document alone, checked by loading it as a pod will: from the same
  // directory, it must give this function and nothing else.
  std::optional<std::string> own_document(const config::function_spec& fn) {
    auto doc = document_named(source_, fn.name);
    if (!doc) return fail_text(fn, "cannot find the function's document in the file");
    auto alone = config::load_string(doc->text, spec_.path, dir_.string());
    if (!alone) {
      return fail_text(
          fn, "its document does not load on its own (" + alone.error().front().message + ")");
    }
    if (alone->functions.size() != 1 || alone->functions[0].name != fn.name ||
        alone->functions[0].argv != fn.argv || alone->functions[0].inputs != fn.inputs) {
      return fail_text(fn, "cannot cut the function's document out of the file");
    }
    return std::move(doc->text);
  }

  // The image holds the spec's whole directory at /app; /tmp is the pod's writable emptyDir.
  bool working_dir_exists(const config::function_spec& fn) const {
    return fn.working_dir == "/tmp" || inside(fn.working_dir, dir_).has_value();
  }

  std::nullopt_t fail(const config::function_spec& fn, const std::string& field,
                      std::string message) {
    errors_.push_back({fn.where, fn.name + "." + field, std::move(message)});
    return std::nullopt;
  }

  std::nullopt_t fail_text(const config::function_spec& fn, std::string message) {
    errors_.push_back({fn.where, fn.name, std::move(message)});
    return std::nullopt;
  }

  const config::spec_file& spec_;
  std::string_view source_;
  fs::path dir_;
  std::vector<config::spec_error>& errors_;
};

}  // namespace

workloads_result function_workloads(const config::spec_file& spec, std::string_view source) {
  std::vector<config::spec_error> errors;
  function_builder builder(spec, source, errors);
  std::vector<workload> out;
  for (const auto& fn : spec.functions)
    if (auto w = builder.build(fn)) out.push_back(std::move(*w));
  if (!errors.empty()) return tl::unexpected(std::move(errors));
  return out;
}

}  // namespace shfn::k8s
