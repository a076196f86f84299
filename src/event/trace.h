#pragma once
// W3C Trace Context on events: the Distributed Tracing extension's `traceparent` and `tracestate`
// attributes (cloudevents/spec, extensions/distributed-tracing.md) are ordinary extensions, so
// every binding passes them through untouched. What this adds is a check of traceparent's shape,
// because a tracer that receives a malformed one may reject the whole trace.

#include <optional>
#include <string>
#include <string_view>

#include "event/event.h"

namespace shfn::event {

inline constexpr std::string_view traceparent_extension = "traceparent";
inline constexpr std::string_view tracestate_extension = "tracestate";

// version "-" trace-id "-" parent-id "-" flags, lower-case hex: 00-<32>-<16>-<2>. The trace id
// and parent id must not be all zeros; version ff is invalid; a version above 00 may carry more
// fields after the first four (W3C Trace Context, "Versioning of traceparent").
bool is_valid_traceparent(std::string_view value);

// Drops an invalid traceparent together with its tracestate (W3C: tracestate is meaningless
// without a valid traceparent), or a tracestate that has no traceparent, and says what was
// dropped and why, for a log line; nullopt when nothing was dropped. Not done by the decoders,
// so that decoding never changes an event behind the caller's back: the runtime calls this where
// it would log.
std::optional<std::string> drop_invalid_trace_context(cloud_event& e);

}  // namespace shfn::event
