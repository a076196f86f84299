#pragma once
// A `kind: Function` document after validation: every field checked, defaulted, topic names
// expanded and paths made absolute, so the runtime needs no further checks. See README.md for
// the YAML spelling of every field and its default.

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/error.h"

namespace shfn::config {

// Pulsar Functions' processing guarantees (DESIGN.md, decision 4).
enum class guarantee { at_least_once, at_most_once, effectively_once };
enum class subscription_kind { exclusive, shared, failover, key_shared };
// exec: one process per message; stream: long-lived workers fed through a framing.
enum class run_mode { exec, stream };
enum class framing { lines, nul, length_prefixed };
// stdin_only: the payload on stdin; arg: on stdin and as the last argument ($1).
enum class input_style { stdin_only, arg };

// Kubernetes resource quantities ("100m", "64Mi", "1"); empty = not set.
struct resource_list {
  std::string cpu, memory;

  bool operator==(const resource_list&) const = default;
};

// How the function is packaged (`shfn image build`) and deployed (`shfn k8s render`); `shfn run`
// ignores it.
struct deploy_spec {
  std::vector<std::string> packages;  // extra Debian packages installed in the image
  resource_list requests{.cpu = "100m", .memory = "64Mi"};
  resource_list limits{.cpu = "", .memory = "512Mi"};

  bool operator==(const deploy_spec&) const = default;
};

// How the output is batched: Pulsar Functions' producerConfig.batchingConfig (PIP-401), with its
// defaults: batching on, a batch published at the latest 10 ms after its first message. Only
// ATLEAST_ONCE and ATMOST_ONCE outputs batch; EFFECTIVELY_ONCE publishes each output alone.
struct batching_spec {
  bool enabled = true;
  std::chrono::milliseconds max_publish_delay{10};
  int max_messages = 1000;
  std::size_t max_bytes = 128 * 1024;

  bool operator==(const batching_spec&) const = default;
};

struct function_spec {
  std::string name;
  location where;  // of the document (its first key)

  // What to run. Every form is built so that appending the payload as one more argument (for
  // `input: arg`) makes it $1: `command: STRING` gives {"bash", "-c", STRING, NAME} (NAME is $0);
  // `command: [..]` is the list as-is; `script: PATH` gives {ABSOLUTE_PATH}.
  std::vector<std::string> argv;
  std::string script;  // absolute path when `script` was used, else empty

  std::vector<std::string> inputs;   // fully expanded topic names, in the order given
  std::string topics_pattern;        // full form (persistent://public/default/REGEX); empty = none
  std::string topics_pattern_given;  // as written in the spec
  std::string output, log_topic, dead_letter_topic;            // expanded; empty = none
  std::string subscription_name;                               // default: the function's name
  subscription_kind subscription = subscription_kind::shared;  // explicit or derived
  bool subscription_explicit = false;                          // subscriptionType was given
  bool subscription_earliest = false;
  bool retain_ordering = false, retain_key_ordering = false;
  guarantee guarantees = guarantee::at_least_once;
  int parallelism = 1;
  run_mode mode = run_mode::exec;
  framing frames = framing::lines;
  input_style input = input_style::stdin_only;
  std::chrono::milliseconds timeout{30000};  // 0 = no timeout
  std::chrono::milliseconds kill_grace{2000};
  int max_message_retries = 3;
  std::size_t max_output_bytes = 5 << 20;
  batching_spec output_batching;
  nlohmann::json user_config = nlohmann::json::object();
  std::vector<std::pair<std::string, std::string>> env;  // in the order given
  std::string working_dir;  // absolute; default: the spec file's directory
  deploy_spec deploy;

  // Every field, `where` too (flow/plan.h compares definitions without it).
  bool operator==(const function_spec&) const = default;
};

// The fields of a Function's `spec`, as a spec file spells them.
const std::vector<std::string_view>& function_fields();

// The spellings used in spec files ("ATLEAST_ONCE", "Key_Shared", "length-prefixed", ...).
std::string_view to_string(guarantee g);
std::string_view to_string(subscription_kind k);
std::string_view to_string(run_mode m);
std::string_view to_string(framing f);
std::string_view to_string(input_style i);

}  // namespace shfn::config
