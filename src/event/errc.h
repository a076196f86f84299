#pragma once
// Errors of the CloudEvents library. A CloudEvent can be wrong in many ways that a user has to
// see spelled out ("missing required attribute \"source\""), so the error carries its message
// and, for filters, the field it concerns; `code` says which kind of failure it is, and maps to a
// std::error_code for callers that only keep that.

#include <string>
#include <system_error>
#include <tl/expected.hpp>

namespace shfn::event {

enum class errc {
  invalid_event = 1,   // an attribute is missing, misnamed or has a bad value
  invalid_json,        // a structured event's payload is not the JSON it must be
  not_a_cloud_event,   // the message or HTTP response carries no CloudEvent at all
  unsupported_format,  // a CloudEvents format or mode this library does not speak
  invalid_filter,      // a filter's JSON is not a filter
};

const std::error_category& event_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), event_category()};
}

struct error {
  errc code = errc::invalid_event;
  std::string message;  // complete and user-facing
  std::string field;    // where in a filter: "all[1].exact"; empty when not about a filter

  // "FIELD: MESSAGE", or MESSAGE when there is no field.
  std::string to_string() const { return field.empty() ? message : field + ": " + message; }
  std::error_code error_code() const { return make_error_code(code); }
};

template <class T>
using event_result = tl::expected<T, error>;

inline tl::unexpected<error> fail_with(errc code, std::string message, std::string field = {}) {
  return tl::unexpected<error>(error{code, std::move(message), std::move(field)});
}

}  // namespace shfn::event

template <>
struct std::is_error_code_enum<shfn::event::errc> : std::true_type {};
