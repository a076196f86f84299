#pragma once
// The flow kinds after validation: `Parallel`, `Sequence` and the cron source (`CronSource`, and
// Knative's `PingSource` and `CronJobSource` shapes). Field names are Knative's, so a Knative
// manifest whose refs name shfn functions loads with few or no changes; see README.md for the
// YAML spelling and docs/flows.md for the semantics.
//
// Every reference is resolved at load time: a `ref` names a document of the same file, and the
// topics a flow reads and writes are fully expanded, so the runtime wires stages without lookups.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/error.h"

namespace shfn::config {

// Knative's DeliverySpec, applied by shfn to a branch's filter and subscriber alike (Knative
// applies it to the subscriber only).
enum class backoff_policy { exponential, linear };

// Where events are sent: `reply`, `sink`, `deadLetterSink`: one of `topic: T`, `ref: {kind,
// name}`, `uri: URL`, `builtin: display`. After loading, every kind but `uri` and `display` is a
// topic: a ref to a Function is its first input topic, a ref to a Parallel or
// Sequence its ingress topic.
struct sink_spec {
  enum class kind { none, topic, uri, display };
  kind type = kind::none;
  std::string topic;     // kind::topic: expanded (persistent://... or non-persistent://...)
  std::string uri;       // kind::uri: an absolute http:// or https:// URL
  std::string ca_certs;  // kind::uri over https: Knative's CACerts (PEM); empty: the system's
  std::string ref;       // the name the ref gave ("" for topic/uri/display), for messages
  std::string ref_kind;  // the kind the ref gave, as written ("Service", "Parallel"); may be ""
  location where;        // of what the sink was given as: its topic, uri, builtin or ref name
  std::string field;     // the dotted path of that ("odd-even.spec.reply.ref"), for messages

  bool operator==(const sink_spec&) const = default;
};

struct delivery_spec {
  int retry = 3;  // attempts after the first; Knative's `retry`
  backoff_policy policy = backoff_policy::exponential;
  std::chrono::milliseconds backoff_delay{200};  // ISO-8601 `backoffDelay`, e.g. PT0.2S
  std::chrono::milliseconds timeout{30000};      // ISO-8601 `timeout`: per attempt, > 0
  sink_spec dead_letter;                         // `deadLetterSink`; none: the runtime's default
};

// A filter, a subscriber or a sequence step: what runs for each event.
struct step_spec {
  enum class kind {
    function,    // `ref` to a Function of the file: its command, env, userConfig, workingDir...
    command,     // `command: STRING|LIST` inline (as a Function's command)
    uri,         // `uri`: HTTP POST in CloudEvents binary mode
    attributes,  // a filter only: `exact`/`prefix`/`suffix`/`all`/`any`/`not` (Knative Trigger)
    display,     // `builtin: display`: print the event as Knative's event-display does
  };
  kind type = kind::command;
  std::string function;           // kind::function: the Function's name
  std::string ref_kind;           // kind::function: the kind the ref gave ("Service"); may be ""
  std::vector<std::string> argv;  // kind::command (built as function_spec::argv is; $0 is the
                                  // flow's name and the step's role: "odd-even-branch-0-filter")
  std::string uri;                // kind::uri: http:// or https://
  std::string ca_certs;           // kind::uri over https: Knative's CACerts (PEM); empty: the
                                  // system's CAs
  nlohmann::json attributes;      // kind::attributes: the filter read (event::as_json), in the
                                  // shape event::parse_filter reads ({"exact": {"type": "x"}})
  location where;                 // of what the step was given as (its ref name, command, ...)
  std::string field;              // the dotted path of that, for messages
};

struct branch_spec {
  std::optional<step_spec> filter;
  step_spec subscriber;
  sink_spec reply;  // none: the Parallel's reply
  delivery_spec delivery;
  std::string topic;  // the branch's channel: `<ingress>-branch-<index>` (expanded)
  location where;
};

struct parallel_spec {
  std::string name;
  std::string ns;  // metadata.namespace: the ingress path /NS/NAME
  location where;
  std::string ingress;     // expanded; `ingress` or, by default, the Parallel's name
  bool in_memory = false;  // channelTemplate kind InMemoryChannel: non-persistent:// topics
  std::vector<branch_spec> branches;  // `branches` (or Knative's older `cases`)
  sink_spec reply;
};

struct sequence_step_spec {
  step_spec step;
  delivery_spec delivery;
  std::string topic;  // the step's input channel: the ingress for step 0, else `<ingress>-step-<i>`
};

struct sequence_spec {
  std::string name;
  std::string ns;
  location where;
  std::string ingress;
  bool in_memory = false;
  std::vector<sequence_step_spec> steps;
  sink_spec reply;
};

// `CronSource`; also Knative's `PingSource` (sources.knative.dev v1beta2/v1) and `CronJobSource`
// (v1alpha1) shapes, which differ only in defaults.
struct cron_source_spec {
  std::string name;
  std::string kind;  // as written: CronSource, PingSource or CronJobSource
  location where;
  std::string schedule;  // as written (a CRON_TZ= prefix included); valid for cron::parse_schedule
  std::string timezone;  // IANA name from `timezone` or the schedule's CRON_TZ= prefix, checked
                         // with cron::zone::load; empty: UTC
  std::string data;      // bytes: `data` (or the older `jsonData`) as given, or `dataBase64`
                         // decoded; empty: events without data
  std::string content_type;  // `contentType`; default application/json when `data` parses as
                             // JSON, else text/plain; application/octet-stream for `dataBase64`;
                             // empty when there is no data and no contentType
  std::string type;          // the events' type; default dev.knative.sources.ping (CronJobSource:
                             // dev.knative.cronjob.event)
  std::string source;  // the events' source; default /apis/v1/namespaces/default/pingsources/NAME
                       // (CronJobSource: .../cronjobsources/NAME)
  std::vector<std::pair<std::string, std::string>> extensions;  // `ceOverrides.extensions`
  sink_spec sink;

  bool operator==(const cron_source_spec&) const = default;
};

// `ContainerSource` (sources.knative.dev/v1): a command shfn keeps running, restarted with
// back-off whenever it ends; each line it prints is an event on its sink, and it may send events
// itself to the URL in K_SINK (SinkBinding's contract). Its one container gives the command.
// Set by shfn for a command source's command, as SinkBinding sets them: neither its container's
// `env` nor shfn's own environment gives them.
inline constexpr std::string_view sink_binding_variables[] = {"K_SINK", "K_CE_OVERRIDES",
                                                              "K_CA_CERTS"};

struct command_source_spec {
  std::string name;
  std::string ns;  // metadata.namespace ("default" when not given)
  location where;
  std::vector<std::string> argv;  // the container's `command`, then its `args`
  std::vector<std::pair<std::string, std::string>> env;  // the container's `env`, in order
  std::string working_dir;  // absolute: `workingDir`, else the spec file's directory
  std::string source;       // the line events' source: /apis/v1/namespaces/NS/containersources/NAME
  std::vector<std::pair<std::string, std::string>> extensions;  // `ceOverrides.extensions`
  sink_spec sink;
  // Resolved (flow/plan.h), for K_SINK: a uri sink's URL, or the ingress path (/NS/NAME) of a
  // sink that has one, after the ingress's URL; empty: no K_SINK. K_CA_CERTS: the uri's CACerts.
  std::string sink_url;
  std::string sink_ca_certs;

  bool operator==(const command_source_spec&) const = default;
};

// `Broker` (eventing.knative.dev/v1): a topic that events are sent into (over HTTP through the
// ingress, or by any producer), and the delivery its Triggers take by default.
struct broker_spec {
  std::string name;
  std::string ns;  // metadata.namespace ("default" when not given): the ingress path /NS/NAME
  location where;
  std::string ingress;  // expanded; `ingress` (shfn's own field) or, by default, the name
  std::optional<delivery_spec> delivery;

  bool operator==(const broker_spec&) const = default;
};

// `Trigger`: the events of a Broker that pass its filter go to its subscriber, over a
// subscription of its own; what the subscriber replies goes back into the Broker.
struct trigger_spec {
  std::string name;
  location where;
  std::string broker;  // the Broker's name, as written
  location broker_where;
  std::string broker_field;
  std::string ingress;  // resolved: the Broker's ingress topic
  std::string topic;    // the Trigger's channel, beside the ingress: `<ingress>-trigger-<name>`
  // `filter.attributes` (exact, an empty value matching anything) and every one of `filters`,
  // as one filter in event::parse_filter's shape; {} passes everything.
  nlohmann::json filter = nlohmann::json::object();
  step_spec subscriber;
  delivery_spec delivery;     // the Trigger's, else (resolved) the Broker's, else the default
  bool own_delivery = false;  // `delivery` was given
};

// `Channel` and `InMemoryChannel` (messaging.knative.dev/v1): a topic, persistent unless the
// kind (or a Channel's channelTemplate) is InMemoryChannel, that Subscriptions read.
struct channel_spec {
  std::string name;
  std::string ns;    // metadata.namespace: the ingress path /NS/NAME
  std::string kind;  // as written: Channel or InMemoryChannel
  location where;
  std::string topic;  // expanded: `ingress` (shfn's own field) or the name, non-persistent:// for
                      // an in-memory channel
  std::optional<delivery_spec> delivery;  // the default of its Subscriptions

  bool operator==(const channel_spec&) const = default;
};

// `Subscription`: every event of a channel goes to the subscriber, over a subscription of its
// own; what the subscriber replies goes to `reply`.
struct subscription_spec {
  std::string name;
  location where;
  std::string channel;  // the Channel's name, as the `channel` ref gives it
  std::string channel_kind;
  location channel_where;
  std::string channel_field;
  std::string topic;  // resolved: the channel's topic
  step_spec subscriber;
  sink_spec reply;
  delivery_spec delivery;  // the Subscription's, else (resolved) the Channel's, else the default
  bool own_delivery = false;
};

std::string_view to_string(backoff_policy p);

}  // namespace shfn::config
