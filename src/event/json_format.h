#pragma once
// The JSON event format (application/cloudevents+json), used by structured mode on Pulsar and
// over HTTP. Pure functions; any thread.
//
// Data is written as the format prescribes:
//   - JSON data (datacontenttype absent, */json or */*+json) that is valid JSON: the `data`
//     member holds the JSON value itself, byte for byte (surrounding whitespace dropped);
//   - text data (text/*, */xml, */*+xml, or a charset parameter) that is valid UTF-8: `data` holds
//     it as a JSON string;
//   - anything else (binary, invalid UTF-8, "JSON" that does not parse): `data_base64`.
// Reading keeps a JSON `data` value's bytes exactly as they appear in the document, so a number
// or a key order is never changed on the way through. A `data` member with no datacontenttype
// gets datacontenttype "application/json", which the format says it implies, so that the type
// survives a later binary-mode hop.

#include <string>
#include <string_view>

#include "event/event.h"

namespace shfn::event {

inline constexpr std::string_view json_media_type = "application/cloudevents+json";

// The event as one JSON object: attributes in attributes() order, then data. Extension values
// are JSON strings (their canonical encoding). The event should be valid (see validate()).
std::string to_json(const cloud_event& e);

// Parses and validates a structured event. Integer and boolean extension values become their
// string encodings; `null` means unset. Errors name what is wrong: invalid JSON (with the byte
// offset), an attribute of the wrong JSON type, both data and data_base64, bad Base64, or any
// validate() failure.
event_result<cloud_event> from_json(std::string_view text);

// What a content type (a Pulsar `content-type` property or an HTTP Content-Type) says about the
// CloudEvents format, prefix matched case-insensitively as both bindings do:
// application/cloudevents+json or bare application/cloudevents (parameters allowed) -> json;
// application/cloudevents-batch... -> batch; application/cloudevents+avro etc. -> other;
// anything else -> none (binary mode, or no event).
enum class structured_format { none, json, batch, other };
structured_format structured_format_of(std::string_view content_type);

}  // namespace shfn::event
