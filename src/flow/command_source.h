#pragma once
// A command source (Knative's ContainerSource shape; docs/flows.md, "Command sources"): a
// long-lived command whose every line on stdout is an event on the sink topic.
//
//   - a line that is a JSON object with "specversion" is a CloudEvent in structured mode and
//     passes through as it is; any other line is the data of a new event (type dev.shfn.line,
//     source /apis/v1/namespaces/NS/containersources/NAME, text/plain, or application/json when
//     the line is JSON). A line that claims to be a CloudEvent and is not one is logged with the
//     reason and counted (`invalid`), not sent. `ceOverrides` extensions go on every event.
//   - a line over max_line bytes is logged and skipped; a line's trailing "\r" is not data.
//   - events are published in the order printed, each keyed by its `partitionkey` if it has
//     one. The producer never gives up on a lost connection (it resends what is unreceipted);
//     while the broker is away it stops taking lines, so the command blocks on a full pipe
//     instead of lines being dropped.
//   - stderr goes to shfn's log, line by line; stdin is closed at once.
//   - the command's environment: shfn's own (less SHFN_*), the container's `env`, and, as
//     Knative's SinkBinding injects them, K_SINK (where to POST CloudEvents: the uri of a uri
//     sink, else the ingress URL of the sink's Broker, Channel, Parallel or Sequence), K_CA_CERTS
//     (a uri sink's CACerts) and K_CE_OVERRIDES ({"extensions": {...}} when ceOverrides is given);
//     SHFN_SOURCE, its name, and SHFN_TOKEN, when the ingress asks for a token.
//   - the command ending, for any reason, is logged and it is started again after a back-off
//     (restart_initial doubling up to restart_max, reset once a run lasted restart_max), as
//     Kubernetes restarts a container.
//   - stop(): SIGTERM to its process group, SIGKILL kill_grace later; the lines it printed until
//     it ended are still published, their receipts waited for up to drain_timeout after the
//     stop. Then the producer is closed: what the broker has not taken by then is not stored,
//     and the last log line counts it.
//
// Threads: everything on the runtime's executor.

#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"
#include "client/client.h"
#include "config/flow.h"
#include "flow/source.h"

namespace shfn::flow {

struct command_source_options {
  // The ingress's URL (http://HOST:PORT) for K_SINK, read at each start of the command; empty
  // while the ingress does not serve, and then a sink reached through it gets no K_SINK.
  std::function<std::string()> ingress_url;
  // With token authentication on the ingress, the command's SHFN_TOKEN, for K_SINK's requests
  // ("Authorization: Bearer $SHFN_TOKEN").
  std::string token;
  std::chrono::milliseconds restart_initial{1000};
  std::chrono::milliseconds restart_max{60000};
  std::chrono::milliseconds kill_grace{2000};
  std::chrono::milliseconds drain_timeout{10000};
  std::chrono::milliseconds retry_initial{100};  // creating the producer
  std::chrono::milliseconds retry_max{30000};
  std::size_t max_line = 1 << 20;  // the ingress's body limit too
};

class command_source final : public source {
 public:
  // `spec.sink` is a topic (flow/plan.h has turned any other sink into one).
  command_source(client::client& c, config::command_source_spec spec,
                 command_source_options options);
  ~command_source() override;

  // Checks that the command can be found, then creates the producer (retrying while the broker
  // cannot be reached).
  asio::awaitable<result<void>> start() override;
  // Runs the command, and again whenever it ends, until stop().
  asio::awaitable<void> run() override;
  void stop() override;

  bool ready() const override;
  source_counts counts() const override;  // lines received, events written
  // {"source": name, "kind": "ContainerSource", "command": [...], "sink": topic, "pid": N or
  //  null, "lines": N, "events": N, "invalid": N, "restarts": N, "last_exit": "..." or null,
  //  "last_error": "...", "ready": bool}
  nlohmann::json status() const override;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared with the helpers reading a run's stderr
};

}  // namespace shfn::flow
