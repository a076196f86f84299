// shfn validate: load spec files as `shfn run` would and report every error, one per line.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/common.h"
#include "config/spec.h"

namespace shfn::cli {
namespace {

// "2 functions: a, b" (also for none: "0 functions").
template <class Specs>
std::string group(const Specs& specs, std::string_view singular, std::string_view plural) {
  std::string out = fmt::format("{} {}", specs.size(), specs.size() == 1 ? singular : plural);
  for (std::size_t i = 0; i < specs.size(); ++i) out += (i == 0 ? ": " : ", ") + specs[i].name;
  return out;
}

// "2 functions: a, b; 1 parallel: p; 1 cron source: t": every kind the file has; a file of
// functions only reads as it always did.
std::string summary(const config::spec_file& spec) {
  std::string out;
  auto add = [&](std::string part) { out += (out.empty() ? "" : "; ") + part; };
  if (!spec.functions.empty() || (spec.parallels.empty() && spec.sequences.empty() &&
                                  spec.cron_sources.empty() && spec.command_sources.empty()))
    add(group(spec.functions, "function", "functions"));
  if (!spec.parallels.empty()) add(group(spec.parallels, "parallel", "parallels"));
  if (!spec.sequences.empty()) add(group(spec.sequences, "sequence", "sequences"));
  if (!spec.cron_sources.empty()) add(group(spec.cron_sources, "cron source", "cron sources"));
  if (!spec.command_sources.empty())
    add(group(spec.command_sources, "command source", "command sources"));
  return out;
}

int validate(const std::vector<std::string>& files) {
  int exit_code = 0;
  for (const auto& file : files) {
    auto loaded = config::load_file(file);
    if (!loaded) {
      for (const auto& e : loaded.error()) fmt::print(stderr, "{}\n", e.to_string());
      exit_code = 1;
      continue;
    }
    fmt::print("{}: ok ({})\n", file, summary(*loaded));
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
