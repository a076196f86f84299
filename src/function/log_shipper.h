#pragma once
// The log topic of a function instance: lifecycle events and every line its scripts write to
// stderr, as messages with the properties function, instance, message_id and level. A line reads
// "LEVEL [function/instance] message_id: text" (no message id for lifecycle lines), so that a raw
// `shfn consume` of the topic says whose it is. The same lines go to the process's own log
// (spdlog, on stderr).
//
// Logging never blocks or fails the data path: lines wait in a bounded queue that one coroutine
// drains into a batching producer; when the queue is full (the log topic is slower than the
// script is chatty), new lines are counted as dropped and only logged locally.
//
// Runs on the runtime's executor, like the instance that owns it.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/notifier.h"
#include "client/client.h"
#include "client/message.h"
#include "client/producer.h"

namespace shfn::function {

enum class log_level { debug, info, warn, error };
std::string_view to_string(log_level level);

class log_shipper {
 public:
  // `topic` empty: local logging only.
  log_shipper(client::client& c, std::string topic, std::string function, int instance);
  ~log_shipper();

  void post(log_level level, std::string_view text, std::string_view message_id = {});
  // The per-message trace, when the process logs at debug level: to the process's log only, as
  // a log topic line per step of every message would outweigh the data.
  bool tracing() const;
  void trace(std::string_view message_id, std::string_view text) const;

  // Ships lines on `ex` until stop(); creating the producer is retried while the broker is away.
  void start(const asio::any_io_executor& ex);
  // Ships what is queued (giving up at `deadline`), closes the producer, and returns once the
  // shipping coroutine has ended: the shipper may then go.
  asio::awaitable<void> stop(clock::time_point deadline);

  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t send_failures() const { return send_failures_; }

  // The last lines posted (at most `recent_kept`, oldest first), with or without a log topic:
  // what the live view shows of a function (docs/ui.md).
  struct recent_line {
    std::int64_t time_ms = 0;
    std::string line;  // as the log topic gets it: "LEVEL [function/instance] id: text"
  };
  static constexpr std::size_t recent_kept = 20;
  const std::deque<recent_line>& recent() const { return recent_; }

 private:
  asio::awaitable<void> run();
  asio::awaitable<bool> ensure_producer();
  asio::awaitable<bool> pause(std::chrono::milliseconds d);

  static constexpr std::size_t max_queued = 10000;

  client::client& client_;
  std::string topic_;
  std::string function_;
  std::string instance_;
  std::unique_ptr<client::producer> producer_;
  std::deque<client::outgoing_message> queue_;
  std::deque<recent_line> recent_;
  notifier wake_;
  bool started_ = false;
  bool stopping_ = false;
  oneshot<bool> finished_;  // run() has ended
  std::uint64_t dropped_ = 0;
  std::uint64_t send_failures_ = 0;
};

// What one script run writes to stderr, logged at the level its outcome earns: INFO when it
// succeeds, WARN when it fails. The last `max_held` lines wait for the outcome; older ones go out
// at INFO as newer ones push them out, so a chatty script is not held in memory and a failure
// keeps its last words, the ones that say why.
class run_stderr {
 public:
  static constexpr std::size_t max_held = 64;

  run_stderr(log_shipper& log, std::string message_id)
      : log_(log), message_id_(std::move(message_id)) {}

  void add(std::string_view line);
  void finish(bool failed);

 private:
  log_shipper& log_;
  const std::string message_id_;
  std::deque<std::string> held_;
};

}  // namespace shfn::function
