#pragma once
// Writing Prometheus' text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/):
//
//   # HELP shfn_topic_messages_in_total Messages published to the topic.
//   # TYPE shfn_topic_messages_in_total counter
//   shfn_topic_messages_in_total{topic="persistent://public/default/t"} 3
//
// The writer only formats: it does not check names, nor that a family is declared once, nor
// that its samples follow it; metric and label names are the caller's constants. It escapes
// what comes from outside (label values, help text). No shared state: any thread, one at a time.

#include <array>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace shfn::http {

// What to answer /metrics with.
inline constexpr std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

// A label value escaped for the text exposition format: \ " and newline.
std::string escape_label_value(std::string_view value);

enum class metric_type { counter, gauge, histogram, summary, untyped };

struct label {
  std::string_view name;
  std::string_view value;  // escaped by the writer
};

// Integers a sample can hold (bool is not a number here).
template <class T>
concept metric_integer = std::integral<T> && !std::same_as<T, bool>;

// A sample's value as text: integers exactly (a 64-bit counter loses nothing), floating point
// as the shortest text that reads back to the same double, and +Inf, -Inf, NaN as Prometheus
// spells them. Implicit, so that a number can be passed where a value is expected.
class metric_value {
 public:
  template <metric_integer T>
  metric_value(T v) {
    if constexpr (std::is_signed_v<T>) {
      set(static_cast<long long>(v));
    } else {
      set(static_cast<unsigned long long>(v));
    }
  }
  metric_value(double v);

  std::string_view text() const { return {text_.data(), size_}; }

 private:
  void set(long long v);
  void set(unsigned long long v);

  std::array<char, 32> text_{};
  std::size_t size_ = 0;
};

class metrics_writer {
 public:
  // A family's "# HELP" and "# TYPE" lines; its samples follow.
  void family(std::string_view name, metric_type type, std::string_view help);
  // One sample line: `name{label="value",...} value`, or `name value` without labels.
  void sample(std::string_view name, std::initializer_list<label> labels, metric_value value);
  void sample(std::string_view name, std::span<const label> labels, metric_value value);
  void sample(std::string_view name, metric_value value) {
    sample(name, std::span<const label>(), value);
  }

  const std::string& str() const& { return out_; }
  std::string str() && { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace shfn::http
