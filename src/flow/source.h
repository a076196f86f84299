#pragma once
// What the runtime asks of a source, whatever makes its events: a cron source (cron_source.h)
// or a command source (command_source.h). The runtime starts it, runs it until it is stopped,
// and shows its status; a stopped source is not started again: the runtime makes a fresh one.

#include <asio/awaitable.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

namespace shfn::flow {

// For the sources API's status (Pulsar's SourceStatus).
struct source_counts {
  std::uint64_t received = 0;  // what the source took in: ticks, lines
  std::uint64_t written = 0;   // events the broker has stored
  std::uint64_t restarts = 0;  // of the source's process
  std::string last_error;
};

class source {
 public:
  virtual ~source() = default;

  // Readies what it publishes with, retrying while the broker cannot be reached; fails only
  // for what retrying cannot fix (and with operation_canceled when stop() comes first).
  virtual asio::awaitable<result<void>> start() = 0;
  // Makes events until stop(), then closes what start() made.
  virtual asio::awaitable<void> run() = 0;
  virtual void stop() = 0;

  virtual bool ready() const = 0;
  virtual source_counts counts() const = 0;
  // For GET /status: {"source": name, "kind": ..., "sink": topic, "ready": bool, ...}.
  virtual nlohmann::json status() const = 0;
};

}  // namespace shfn::flow
