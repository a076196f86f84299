#pragma once
// Counters of one function instance, named after Pulsar Functions' metrics so that dashboards
// built for Pulsar Functions read them unchanged. Owned by the instance, read by the admin HTTP
// handler; both run on the runtime's executor, so plain integers suffice.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace shfn::function {

// The most recent process latencies, for quantiles at scrape time; the sum and count cover all.
class latency_window {
 public:
  void record(std::chrono::microseconds latency);
  // The q-quantile (0..1) of the window in milliseconds; NaN when nothing was recorded.
  double quantile_ms(double q) const;
  double sum_ms() const { return static_cast<double>(sum_us_) / 1000.0; }
  std::uint64_t count() const { return count_; }

 private:
  static constexpr std::size_t capacity = 1024;
  std::array<std::uint32_t, capacity> recent_us_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_us_ = 0;
};

// The counters as they stood over the last minute, sampled off the message path (by the
// instance's backlog loop), for one-minute figures: Pulsar's FunctionStats.oneMin, and rates.
class minute_window {
 public:
  struct sample {
    std::int64_t at_ms = 0;  // since the epoch
    std::uint64_t received = 0, processed = 0, user_exceptions = 0, system_exceptions = 0;
  };
  // Keeps `s`, and of the earlier samples those within a minute of it.
  void record(const sample& s);
  // The oldest sample kept; nullopt before the first.
  std::optional<sample> oldest() const;

 private:
  std::deque<sample> samples_;
};

struct function_metrics {
  std::uint64_t received = 0;
  std::uint64_t processed_successfully = 0;
  std::uint64_t user_exceptions = 0;    // the script failed: exit code, signal, timeout, oversize
  std::uint64_t system_exceptions = 0;  // shfn failed: publish errors, spawn failures
  std::uint64_t published = 0;          // outputs stored on the output topic
  std::uint64_t dropped = 0;            // successes with nothing to publish: empty stdout, no reply
  std::uint64_t dead_lettered = 0;
  std::uint64_t retried = 0;
  std::uint64_t log_lines_dropped = 0;  // log topic back-pressure
  std::int64_t last_invocation_ms = 0;  // ms since the epoch; 0: never
  std::int64_t input_backlog = -1;      // the inputs' unacked messages, as last asked; -1: unknown
  std::string last_error;               // the last failed attempt's, for the functions API
  std::int64_t last_error_ms = 0;       // when, ms since the epoch; 0: none yet
  latency_window process_latency;
  minute_window last_minute;
};

struct labelled_metrics {
  std::string function;
  int instance = 0;
  function_metrics metrics;
};
// The Prometheus text of every instance: each family once, with a sample per instance.
std::string render_prometheus(const std::vector<labelled_metrics>& all);

}  // namespace shfn::function
