#pragma once
// A spec file compiled into what runs: stages and sources (docs/flows.md, "How a flow
// runs"). A stage is one consumer -> step -> producer hop, run by a function_instance: a plain
// Function is one stage; a Parallel or a Sequence is several, chained through topics the way
// Knative's reconciler chains channels and subscriptions.
//
//   Parallel P (ingress I), branch i:
//     I --[P-branch-i-filter: the filter, or pass-all]--> I-branch-i
//       --[P-branch-i-subscriber]--> the branch's reply, else P's reply, else nowhere
//   Sequence S (ingress I), step i:  topic_i --[S-step-i]--> topic_{i+1}, the last: S's reply
//   Trigger T of Broker B (ingress I):
//     I --[T-filter: its filters, or pass-all]--> I-trigger-T --[T-subscriber]--> I (replies)
//   Subscription S of Channel C (topic I):  I --[S]--> S's reply
//   a `uri` or `display` sink (reply, sink, deadLetterSink) D, fed by stage X:
//     X --> X's topic for it (I-reply, I-branch-i-reply, <stage>-dead-letter, <source>-sink)
//       --[its sink stage]--> D
//
// Each stage subscribes with its own name as the subscription (so every branch sees every
// event), takes its retries, back-off, timeout and dead-letter topic from the `delivery` that
// covers it, and always emits CloudEvents. A Function referenced by a flow lends the stage its
// command, environment, mode and parallelism; it runs on its own as well only when it has
// inputs of its own.
//
// Pure: no I/O. Load-time data in, plain data out.

#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "config/spec.h"
#include "flow/step.h"
#include "function/stage.h"

namespace shfn::flow {

using function::stage_options;

struct stage {
  config::function_spec spec;  // name, one input, output, DLQ, retries, timeout...
  stage_options options;
  std::string flow;  // the Parallel or Sequence it belongs to; "" for a plain Function
  // What options.step runs, for comparing stages across reloads: "" (none: the spec's
  // command), else the built-in's kind and settings: "filter {...}", "uri URL 30000ms",
  // "display".
  std::string step_definition;
};

// Where the HTTP ingress (flow/ingress.h) sends what is POSTed to /NS/NAME: the topic of a
// Broker, a Parallel, a Sequence or a channel.
struct ingress_route {
  std::string ns, name;
  std::string kind;  // "Broker", "Parallel", "Sequence", "Channel", "InMemoryChannel"
  std::string topic;
  bool operator==(const ingress_route&) const = default;
};

// A source: a cron source or a command source (ContainerSource).
using source_spec = std::variant<config::cron_source_spec, config::command_source_spec>;
const std::string& name_of(const source_spec& s);
const config::location& where_of(const source_spec& s);
const config::sink_spec& sink_of(const source_spec& s);
std::string_view kind_of(const source_spec& s);  // as written: PingSource, ContainerSource...

struct plan {
  std::vector<stage> stages;  // plain Functions first, then each flow's stages in file order
  // Sinks resolved to topics: a uri or display sink has become a topic read by a sink stage.
  std::vector<source_spec> sources;
  // Every document of the files, selected (plan_options::only) or not, Functions among them
  // (kind "Function"): the names in use and where, for the API's create and update.
  std::vector<config::flow_document> documents;
  // Of the selected Brokers, Parallels, Sequences and channels, and of the sinks of the selected
  // command sources (their K_SINK).
  std::vector<ingress_route> routes;
};

struct plan_options {
  display_printer print;  // where `display` steps and sinks print; default: stdout
  // Only these documents (functions, flows, sources), by name; empty: all. Functions referenced
  // by a selected flow still lend it their commands.
  std::set<std::string> only;
};

plan make_plan(const config::spec_file& file, const plan_options& options = {});
// Whether `shfn run` serves the HTTP ingress unless told otherwise: for a Broker (Knative gives
// every Broker an ingress), or for a command source whose K_SINK is on it.
bool wants_ingress(const plan& p);

// Adds `more` (another file's plan) to `all`: several files run as one plan.
void append(plan& all, plan more);

// Whether a stage (or a source) of one plan runs as that of another: every setting the same,
// wherever in its file it was written. A reload (runtime::apply) leaves such ones running.
bool same_definition(const stage& a, const stage& b);
bool same_definition(const source_spec& a, const source_spec& b);

// The namespaces ("tenant", "ns") that a plan's topics and topic patterns live in: what an
// embedded broker must have for the plan to run (broker_thread::create_namespaces).
std::set<std::pair<std::string, std::string>> namespaces_of(const plan& p);

}  // namespace shfn::flow
