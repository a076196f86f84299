#include "image/plan.h"

#include <fmt/format.h>

#include <algorithm>

namespace shfn::image {

namespace fs = std::filesystem;

namespace {

std::string join_errors(const std::vector<config::spec_error>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "\n") + e.to_string();
  return out;
}

}  // namespace

outcome<spec_contents> inspect_spec(const config::spec_file& spec) {
  spec_contents c;
  const auto file = fs::absolute(spec.path).lexically_normal();
  c.dir = file.parent_path();
  c.spec_name = file.filename().string();
  std::vector<config::spec_error> errors;
  if (!valid_spec_name(c.spec_name)) {
    errors.push_back({{.file = spec.path},
                      "",
                      "the file name must be letters, digits, '.', '_' and '-' (it becomes "
                      "/app/" +
                          c.spec_name + " on the image's command line): rename the file"});
  }
  for (const auto& fn : spec.functions) {
    c.functions.push_back(fn.name);
    c.packages.insert(c.packages.end(), fn.deploy.packages.begin(), fn.deploy.packages.end());
    std::string rel;
    if (!fn.script.empty()) {
      config::spec_error where{fn.where, fn.name + ".spec.script", ""};
      if (!path_inside(fn.script, c.dir, rel)) {
        where.message = fmt::format(
            "{} is outside the spec's directory {}: only that directory goes into the image "
            "(as /app), so move the script into it, or install the program with "
            "deploy.packages and run it with `command`",
            fn.script, c.dir.string());
        errors.push_back(std::move(where));
      } else {
        c.scripts.push_back({rel, std::move(where)});
      }
    }
    if (fn.working_dir != "/tmp" && !path_inside(fn.working_dir, c.dir, rel)) {
      errors.push_back({fn.where, fn.name + ".spec.workingDir",
                        fmt::format("{} will not exist in the image: only the spec's directory "
                                    "(as /app) and /tmp are sure to",
                                    fn.working_dir)});
    }
  }
  if (!errors.empty()) return fail(join_errors(errors));
  std::sort(c.packages.begin(), c.packages.end());
  c.packages.erase(std::unique(c.packages.begin(), c.packages.end()), c.packages.end());
  return c;
}

outcome<void> check_references(const spec_contents& contents, const app_tree& tree) {
  std::vector<config::spec_error> errors;
  for (const auto& ref : contents.scripts) {
    if (tree.find(ref.path) != nullptr) continue;
    auto e = ref.field;
    e.message = fmt::format(
        "{} is left out of the image by {}: take it back in (a line "
        "\"!{}\") or remove the rule that matches it",
        ref.path, (tree.root / ignore_file_name).string(), ref.path);
    errors.push_back(std::move(e));
  }
  if (!errors.empty()) return fail(join_errors(errors));
  return {};
}

std::string describe(const image_plan& plan, const std::string& reference,
                     const std::string& version) {
  std::string out = fmt::format("image {}\n", reference);
  out += fmt::format("  spec {} (functions: {})\n", plan.spec.spec_name,
                     fmt::join(plan.spec.functions, ", "));
  out += fmt::format("  shfn {} -> {}\n", plan.shfn_binary, shfn_path);
  out += fmt::format("  /app from {} ({} entries, {} bytes):\n", plan.app.root.string(),
                     plan.app.files.size(), plan.app.total_bytes);
  for (const auto& f : plan.app.files) {
    switch (f.type) {
      case app_file::kind::directory:
        out += fmt::format("    {}/\n", f.path);
        break;
      case app_file::kind::symlink:
        out += fmt::format("    {} -> {}\n", f.path, f.link_target);
        break;
      case app_file::kind::file:
        out += fmt::format("    {}{} ({} bytes)\n", f.path, f.executable ? "*" : "", f.size);
        break;
    }
  }
  out += fmt::format("  Debian {} {} from {}; packages: {}\n", plan.base.suite, plan.base.arch,
                     plan.base.mirror, fmt::join(plan.base.packages, " "));
  out += "\n--- base stage (cache entry " + base_archive_name(plan.base) + ")\n";
  out += base_containerfile(plan.base);
  const app_recipe app{.base = "oci-archive:" + base_archive_name(plan.base),
                       .spec_name = plan.spec.spec_name,
                       .functions = plan.spec.functions,
                       .version = version};
  out += "\n--- function stage\n" + app_containerfile(app);
  return out;
}

}  // namespace shfn::image
