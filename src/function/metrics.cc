#include "function/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "http/prometheus.h"

namespace shfn::function {

void latency_window::record(std::chrono::microseconds latency) {
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0));
  recent_us_[count_ % capacity] = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(us, std::numeric_limits<std::uint32_t>::max()));
  ++count_;
  sum_us_ += us;
}

double latency_window::quantile_ms(double q) const {
  const std::size_t n = std::min<std::uint64_t>(count_, capacity);
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  std::vector<std::uint32_t> sorted(recent_us_.begin(), recent_us_.begin() + static_cast<long>(n));
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  const std::size_t index = std::min(n - 1, rank == 0 ? 0 : rank - 1);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(index), sorted.end());
  return static_cast<double>(sorted[index]) / 1000.0;
}

void minute_window::record(const sample& s) {
  constexpr std::int64_t minute_ms = 60'000;
  while (!samples_.empty() && samples_.front().at_ms < s.at_ms - minute_ms) samples_.pop_front();
  samples_.push_back(s);
}

std::optional<minute_window::sample> minute_window::oldest() const {
  if (samples_.empty()) return std::nullopt;
  return samples_.front();
}

namespace {

using http::metric_type;

struct counter_family {
  std::string_view name;
  std::string_view help;
  std::uint64_t function_metrics::* field;
};

// Pulsar Functions' names (pulsar_function_*), then shfn's own.
constexpr counter_family counters[] = {
    {"pulsar_function_received_total", "Messages received from the inputs.",
     &function_metrics::received},
    {"pulsar_function_processed_successfully_total",
     "Messages whose script succeeded and whose output was published.",
     &function_metrics::processed_successfully},
    {"pulsar_function_user_exceptions_total",
     "Failed script runs: non-zero exit, signal, timeout or oversized output.",
     &function_metrics::user_exceptions},
    {"pulsar_function_system_exceptions_total",
     "Failures of the runtime itself, such as an output that could not be published.",
     &function_metrics::system_exceptions},
    {"shfn_function_published_total", "Outputs stored on the output topic.",
     &function_metrics::published},
    {"shfn_function_dropped_total",
     "Messages that succeeded with nothing to publish (empty output, a filter that did not "
     "match): acknowledged, no output.",
     &function_metrics::dropped},
    {"shfn_function_dead_lettered_total", "Messages sent to the dead-letter topic.",
     &function_metrics::dead_lettered},
    {"shfn_function_retries_total", "Failed attempts that were retried.",
     &function_metrics::retried},
    {"shfn_function_log_lines_dropped_total",
     "Log lines not sent to the log topic because it could not keep up.",
     &function_metrics::log_lines_dropped},
};

}  // namespace

std::string render_prometheus(const std::vector<labelled_metrics>& all) {
  http::metrics_writer w;
  std::vector<std::string> instances;
  for (const auto& m : all) instances.push_back(std::to_string(m.instance));
  auto labels_of = [&](std::size_t i) {
    return std::array<http::label, 2>{http::label{"function", all[i].function},
                                      http::label{"instance", instances[i]}};
  };
  for (const auto& c : counters) {
    w.family(c.name, metric_type::counter, c.help);
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto labels = labels_of(i);
      w.sample(c.name, labels, all[i].metrics.*c.field);
    }
  }
  w.family("pulsar_function_process_latency_ms", metric_type::summary,
           "Time from receiving a message to finishing it, in milliseconds (quantiles over the "
           "last 1024 messages).");
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& lat = all[i].metrics.process_latency;
    for (const char* q : {"0.5", "0.9", "0.99", "0.999"}) {
      const std::array<http::label, 3> labels{http::label{"function", all[i].function},
                                              http::label{"instance", instances[i]},
                                              http::label{"quantile", q}};
      w.sample("pulsar_function_process_latency_ms", labels, lat.quantile_ms(std::stod(q)));
    }
    const auto labels = labels_of(i);
    w.sample("pulsar_function_process_latency_ms_sum", labels, lat.sum_ms());
    w.sample("pulsar_function_process_latency_ms_count", labels, lat.count());
  }
  w.family("pulsar_function_last_invocation", metric_type::gauge,
           "When the script last ran, in milliseconds since the epoch (0: never).");
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto labels = labels_of(i);
    w.sample("pulsar_function_last_invocation", labels, all[i].metrics.last_invocation_ms);
  }
  w.family("shfn_function_input_backlog", metric_type::gauge,
           "Messages on the inputs' subscription not acknowledged yet, as the broker counted "
           "them lately (absent until it has answered).");
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].metrics.input_backlog < 0) continue;
    w.sample("shfn_function_input_backlog", labels_of(i), all[i].metrics.input_backlog);
  }
  return std::move(w).str();
}

}  // namespace shfn::function
