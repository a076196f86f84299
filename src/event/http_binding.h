#pragma once
// The CloudEvents HTTP binding (cloudevents/spec, bindings/http-protocol-binding.md), binary
// content mode out and binary or structured mode in. Headers and bodies only: no sockets; any
// thread. A `uri` subscriber POSTs to_http_headers() with the event's data as the body and hands
// the response to from_http().
//
// Header values are percent-encoded as the binding requires: space, '"', '%' and every byte
// outside printable ASCII become %XX (upper-case hex), so any UTF-8 value fits in a header.
// Reading undoes one round of double-quoting (older senders) and percent-decoding, and refuses a
// result that is not UTF-8.
//
// Trace context: the `traceparent` / `tracestate` extensions go out both as ce- headers and as
// the plain W3C headers `traceparent` / `tracestate` (for one hop the binding wants them to
// agree). A response with no ce-traceparent but a valid plain `traceparent` gets it (and its
// `tracestate`) as the extension, as the tracing extension allows middleware to do.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "event/event.h"

namespace shfn::event {

using header_list = std::vector<std::pair<std::string, std::string>>;

// Binary mode: ce-specversion, ce-id, ce-source, ce-type, content-type (the datacontenttype, not
// encoded), ce-dataschema, ce-subject, ce-time, ce-<extension>..., then traceparent/tracestate.
// Names are lower-case (HTTP names are case-insensitive; HTTP/2 requires lower case). The body
// is the event's data.
header_list to_http_headers(const cloud_event& e);

struct http_message {
  header_list headers;
  bytes body;
};
// The event as a request or response: binary mode (to_http_headers() and the data), except for
// an event whose datacontenttype is itself a CloudEvents media type, which a receiver would read
// as structured mode: that one goes structured (Content-Type application/cloudevents+json, the
// JSON event format as the body).
http_message to_http(const cloud_event& e);

// The event in an HTTP message (a response, or a request to a server):
//   - Content-Type application/cloudevents+json (or bare application/cloudevents): structured;
//   - otherwise a ce-specversion header: binary, the body is the data (none when empty);
//   - otherwise, no ce- header and an empty body: nullopt (no event, e.g. a 2xx "no reply");
//   - otherwise errc::not_a_cloud_event (a body that is no event: the caller decides).
// Header names are matched case-insensitively. Errors: a ce- header given twice, a value that
// does not decode, ce-datacontenttype contradicting Content-Type, a batch or another format
// (errc::unsupported_format), an invalid structured body, or any validate() failure.
// Headers kept in a map (as http::http_request keeps them) convert with
// header_list(fields.begin(), fields.end()).
event_result<std::optional<cloud_event>> from_http(const header_list& headers, byte_view body);

std::string percent_encode_header_value(std::string_view value);
// Unquotes a double-quoted value, then percent-decodes; nullopt when a '%' is not followed by
// two hex digits, the quoting is broken, or the result is not UTF-8.
std::optional<std::string> decode_header_value(std::string_view value);

}  // namespace shfn::event
