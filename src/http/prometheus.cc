#include "http/prometheus.h"

#include <charconv>
#include <cmath>

namespace shfn::http {

namespace {

// HELP text escapes backslash and newline (label values also escape the double quote).
void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

std::string_view type_name(metric_type type) {
  switch (type) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
    case metric_type::summary:
      return "summary";
    case metric_type::untyped:
      break;
  }
  return "untyped";
}

// 32 characters hold any 64-bit integer and any double's shortest round-trip form (at most 24:
// "-2.2250738585072014e-308").
template <class T>
std::size_t to_text(std::array<char, 32>& text, T v) {
  const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() ? static_cast<std::size_t>(end - text.data()) : 0;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ metric_value

void metric_value::set(long long v) {
  size_ = to_text(text_, v);
}

void metric_value::set(unsigned long long v) {
  size_ = to_text(text_, v);
}

metric_value::metric_value(double v) {
  std::string_view special;
  if (std::isnan(v)) {
    special = "NaN";
  } else if (std::isinf(v)) {
    special = v > 0 ? "+Inf" : "-Inf";
  }
  if (!special.empty()) {
    size_ = special.copy(text_.data(), text_.size());
    return;
  }
  // The shortest text that reads back as the same double.
  size_ = to_text(text_, v);
}

// ------------------------------------------------------------------------------ metrics_writer

void metrics_writer::family(std::string_view name, metric_type type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_help(out_, help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

void metrics_writer::sample(std::string_view name, std::initializer_list<label> labels,
                            metric_value value) {
  sample(name, std::span<const label>(labels.begin(), labels.size()), value);
}

void metrics_writer::sample(std::string_view name, std::span<const label> labels,
                            metric_value value) {
  out_ += name;
  if (!labels.empty()) {
    char separator = '{';
    for (const label& l : labels) {
      out_ += separator;
      out_ += l.name;
      out_ += "=\"";
      out_ += escape_label_value(l.value);
      out_ += '"';
      separator = ',';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += value.text();
  out_ += '\n';
}

}  // namespace shfn::http
