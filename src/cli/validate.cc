// shfn validate: load spec files as `shfn run` would and report every error, one per line.

#include <memory>
#include <string>
#include <vector>

#include "cli/common.h"
#include "config/spec.h"

namespace shfn::cli {
namespace {

int validate(const std::vector<std::string>& files) {
  int exit_code = 0;
  for (const auto& file : files) {
    auto loaded = config::load_file(file);
    if (!loaded) {
      for (const auto& e : loaded.error()) fmt::print(stderr, "{}\n", e.to_string());
      exit_code = 1;
      continue;
    }
    std::string names;
    for (const auto& f : loaded->functions) names += (names.empty() ? ": " : ", ") + f.name;
    const auto n = loaded->functions.size();
    fmt::print("{}: ok ({} function{}{})\n", file, n, n == 1 ? "" : "s", names);
  }
  std::fflush(stdout);
  return exit_code;
}

}  // namespace

void setup_validate(CLI::App& app, int& exit_code) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(
      "validate", "Check spec files; print every error as FILE:LINE:COL: FIELD: MESSAGE");
  cmd->add_option("spec", *files, "Spec files (multi-document YAML)")->required();
  cmd->callback([files, &exit_code] { exit_code = validate(*files); });
}

}  // namespace shfn::cli
