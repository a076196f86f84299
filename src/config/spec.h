#pragma once
// Loading spec files: multi-document YAML, each document Kubernetes-shaped (`apiVersion`, `kind`,
// `metadata.name`, `spec`). Loading reports every error of the file, each with its file, line,
// column and field path, and returns a value only for a file without any.
//
// Load time only; safe to call from any thread (no shared state). Never throws.

#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "config/error.h"
#include "config/flow.h"
#include "config/function.h"

namespace shfn::config {

struct spec_file {
  std::string path;      // as given to load_file (or the file_name given to load_string)
  std::string base_dir;  // absolute: where relative paths start (the file's directory)
  std::vector<function_spec> functions;  // in document order, as every vector here
  std::vector<parallel_spec> parallels;
  std::vector<sequence_spec> sequences;
  std::vector<cron_source_spec> cron_sources;        // CronSource, PingSource and CronJobSource
  std::vector<command_source_spec> command_sources;  // ContainerSource
  std::vector<broker_spec> brokers;
  std::vector<trigger_spec> triggers;
  std::vector<channel_spec> channels;  // Channel and InMemoryChannel
  std::vector<subscription_spec> subscriptions;
};

// A flow document of a file: where it is, its name and its kind as written.
struct flow_document {
  location where;
  std::string name;
  std::string kind;
};

// The file's Parallel, Sequence and cron source documents, in file order: for the commands that
// do not handle flows yet, to refuse each one by name and line.
std::vector<flow_document> flow_documents(const spec_file& spec);

using load_result = tl::expected<spec_file, std::vector<spec_error>>;

// Reads and validates `path`; relative paths inside (script, workingDir) start at its directory.
load_result load_file(const std::string& path);

// Several files, as one `shfn run` takes them: each read as load_file() reads it (a flow's refs
// name Functions of its own file), and every name used once across them all. Every file's
// errors, or the files in the order given.
using load_all_result = tl::expected<std::vector<spec_file>, std::vector<spec_error>>;
load_all_result load_files(const std::vector<std::string>& paths);

// The same from text: `file_name` is used in errors, `base_dir` for relative paths (made
// absolute against the current directory if it is relative).
load_result load_string(std::string_view yaml, const std::string& file_name,
                        const std::string& base_dir);

}  // namespace shfn::config
