#pragma once
// The CloudEvents 1.0 model (https://github.com/cloudevents/spec, version 1.0.2) and its
// validation. Plain data: no I/O, no shared state; any thread.
//
// Every attribute is kept as its canonical string: CloudEvents attributes travel as strings on
// Pulsar properties and HTTP headers, so a value is passed on exactly as it arrived (`time` too;
// it is checked, never reformatted). The JSON format's integers and booleans become their string
// encodings ("5", "true") when decoded.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "event/errc.h"

namespace shfn::event {

inline constexpr std::string_view spec_version = "1.0";

// Name/value pairs in order; names unique where this library builds one.
using attribute_list = std::vector<std::pair<std::string, std::string>>;

struct cloud_event {
  // Required.
  std::string specversion{spec_version};
  std::string id;
  std::string source;  // a URI-reference
  std::string type;
  // Optional.
  std::optional<std::string> datacontenttype;  // a media type (RFC 2046)
  std::optional<std::string> dataschema;       // an absolute URI
  std::optional<std::string> subject;
  std::optional<std::string> time;  // RFC 3339, as received
  attribute_list extensions;        // in arrival order

  bytes data;             // may be binary
  bool has_data = false;  // an event may have no data at all, which is not empty data

  bool operator==(const cloud_event&) const = default;
};

// The context attributes the spec defines, in the order encoders write them.
inline constexpr std::string_view context_attribute_names[] = {
    "specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time"};
bool is_context_attribute(std::string_view name);

// Attribute names are lower-case ASCII letters and digits, at least one character; `data` is
// reserved. (The spec's 20-character limit is a SHOULD, so longer names are accepted.)
bool is_valid_attribute_name(std::string_view name);
// Why `name` is not a valid attribute name, for an error message; nullopt when it is.
std::optional<std::string> attribute_name_problem(std::string_view name);

// Checks everything the spec requires: the four required attributes present (non-empty),
// specversion "1.0", source a URI-reference, dataschema an absolute URI, datacontenttype a media
// type, time RFC 3339, optional attributes non-empty when present, extension names valid and
// unique, and every value a CloudEvents String (UTF-8, no control characters).
event_result<void> validate(const cloud_event& e);
// What validate() would say about one attribute's value (name assumed valid): an empty value
// ("missing required attribute \"id\"", "attribute \"subject\" is empty"), a value that is no
// CloudEvents String, or one that breaks the attribute's own rule; nullopt when it is fine.
std::optional<std::string> attribute_value_problem(std::string_view name, std::string_view value);

// Reading and writing attributes by name: context attributes and extensions alike.
std::optional<std::string_view> attribute(const cloud_event& e, std::string_view name);
// Sets a context attribute or an extension (added at the end, or replaced in place). The name
// must be valid; the value is checked later by validate().
event_result<void> set_attribute(cloud_event& e, std::string_view name, std::string value);
// For decoders that have already made sure each name comes once: sets a context attribute, or
// appends an extension without looking for an earlier one (set_attribute's look-up would make
// decoding N attributes cost N^2). The name must be valid.
void add_unique_attribute(cloud_event& e, std::string_view name, std::string value);
// Unsets an optional attribute or an extension; false when it was not set or is required.
bool remove_attribute(cloud_event& e, std::string_view name);
// Every attribute that is set, context attributes first (in context_attribute_names order),
// then extensions in their order. The views point into `e`.
std::vector<std::pair<std::string_view, std::string_view>> attributes(const cloud_event& e);

// RFC 3339 date-time ("2018-04-05T17:31:00Z", "2018-04-05T19:31:00.123+02:00"): calendar
// dates and ranges checked, 'T' and 'Z' in either case, seconds up to 60 (leap seconds).
bool is_rfc3339(std::string_view text);
// `text` in UTC with the fraction's trailing zeros dropped, as Go's time.RFC3339Nano prints it
// ("2018-04-05T17:31:00.123Z"); nullopt when it is not RFC 3339 or is a leap second (which Go
// cannot represent either).
std::optional<std::string> to_utc_rfc3339(std::string_view text);
// Milliseconds since the Unix epoch as RFC 3339 in UTC with milliseconds:
// "2024-01-02T03:04:05.678Z".
std::string format_time_ms(std::int64_t ms_since_epoch);

// A media type's type/subtype, lower-cased, parameters dropped: "Text/Plain; charset=x" ->
// "text/plain".
std::string media_type(std::string_view content_type);
// Whether data of this content type is JSON: "*/json" or "*/*+json"; an absent content type
// counts as JSON, as the JSON event format says.
bool is_json_content_type(const std::optional<std::string>& content_type);

}  // namespace shfn::event
