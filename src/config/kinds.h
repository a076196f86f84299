#pragma once
// Internal: what spec.cc hands to the parser of each kind, the parsers, the helpers they share,
// and the second pass that ties documents together. Adding a kind means a parse function here,
// its file, and one line in spec.cc's kind table.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/reader.h"
#include "config/spec.h"

namespace shfn::config {

// One document whose header (kind, metadata) has been read.
struct document {
  std::string name;       // metadata.name; empty when missing or invalid
  std::string_view kind;  // as written: "Function", "PingSource"...
  std::string ns;         // metadata.namespace; "default" when not given
  location where;         // the document's first key
  field spec;  // the `spec` value (present and non-null; an empty mapping for a Broker without)
  std::filesystem::path base_dir;  // absolute: relative paths in the spec start here
};

// A Function whose spec gave neither `inputs` nor `topicsPattern`: an error unless a Parallel or
// Sequence runs it as a step, which only the second pass knows.
struct function_without_inputs {
  std::string name;
  location where;     // of its `spec`
  std::string field;  // "name.spec"
};

// What the first pass (one document at a time) leaves for the second (the whole file).
struct first_pass {
  spec_file out;
  // Every usable, unique name with the kind its document gave (as written, whatever it is).
  std::map<std::string, std::string, std::less<>> kinds;
  std::vector<function_without_inputs> without_inputs;
};

// The parsers: each appends its result to `pass.out` and reports every error to
// doc.spec.diags(); a result is only meaningful if no error was reported.
void parse_function(const document& doc, first_pass& pass);
void parse_parallel(const document& doc, first_pass& pass);
void parse_sequence(const document& doc, first_pass& pass);
void parse_cron_source(const document& doc, first_pass& pass);
void parse_command_source(const document& doc, first_pass& pass);
void parse_broker(const document& doc, first_pass& pass);
void parse_trigger(const document& doc, first_pass& pass);
void parse_channel(const document& doc, first_pass& pass);
void parse_subscription(const document& doc, first_pass& pass);

// The second pass: resolves every `ref` to the document it names (a sink's topic, a step's
// Function), reports Functions without inputs that no flow runs, and flows that feed themselves.
void resolve(first_pass& pass, diagnostics& diags);

// Shared by the kinds.
// The cron source's three spellings: shfn's, and Knative's PingSource and CronJobSource.
inline bool is_cron_kind(std::string_view kind) {
  return kind == "CronSource" || kind == "PingSource" || kind == "CronJobSource";
}
// The kinds that send events and receive none: the cron sources and ContainerSource.
inline bool is_source_kind(std::string_view kind) {
  return is_cron_kind(kind) || kind == "ContainerSource";
}
// `ceOverrides` (Knative's CloudEventOverrides): its `extensions`, each name checked as Knative
// checks it, appended to `out`. `spec_sets_type`: the kind has spec.type and spec.source, which
// an extension named so is pointed to.
void read_ce_overrides(const field& f, std::vector<std::pair<std::string, std::string>>& out,
                       bool spec_sets_type);
// What is wrong with `name` as the name of a variable of a spec's `env`: not
// [A-Za-z_][A-Za-z0-9_]*, or one of the runtime's SHFN_*; nullopt when nothing is.
std::optional<std::string> env_name_problem(std::string_view name);
// `workingDir` of `m` into `out`: relative to the spec file, which must be a directory; by
// default the spec file's directory.
void read_working_dir(const document& doc, const mapping& m, std::string& out);
// `command: STRING` ({"bash", "-c", STRING, name}: name is $0) or `command: [LIST]` (as-is).
std::optional<std::vector<std::string>> read_command_argv(const field& command,
                                                          const std::string& name);

}  // namespace shfn::config
