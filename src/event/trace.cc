#include "event/trace.h"

#include <algorithm>

#include "event/text.h"

namespace shfn::event {
namespace {

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zeros(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

}  // namespace

bool is_valid_traceparent(std::string_view v) {
  constexpr std::size_t length = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2
  if (v.size() < length) return false;
  const auto version = v.substr(0, 2);
  if (!is_lower_hex(version) || version == "ff") return false;
  if (version == "00" ? v.size() != length : (v.size() > length && v[length] != '-')) return false;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  const auto trace_id = v.substr(3, 32);
  const auto parent_id = v.substr(36, 16);
  const auto flags = v.substr(53, 2);
  return is_lower_hex(trace_id) && is_lower_hex(parent_id) && is_lower_hex(flags) &&
         !all_zeros(trace_id) && !all_zeros(parent_id);
}

std::optional<std::string> drop_invalid_trace_context(cloud_event& e) {
  const auto parent = attribute(e, traceparent_extension);
  if (parent && is_valid_traceparent(*parent)) return std::nullopt;
  if (parent) {
    std::string why = "dropped traceparent " + quote(*parent) +
                      ": not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)";
    remove_attribute(e, traceparent_extension);
    if (remove_attribute(e, tracestate_extension)) why += ", and its tracestate";
    return why;
  }
  if (remove_attribute(e, tracestate_extension)) return "dropped tracestate: no traceparent";
  return std::nullopt;
}

}  // namespace shfn::event
