#pragma once
// CloudEvents on Pulsar messages. There is no official Pulsar binding; this mirrors the Kafka
// binding (cloudevents/spec, bindings/kafka-protocol-binding.md) with properties for headers.
// Pure functions over a message's parts as plain values; no client, no I/O; any thread.
//
//   binary mode      each attribute is a property `ce_<name>`, except datacontenttype, which is
//                    the property `content-type`; the payload is the data, byte for byte. An
//                    empty payload means "no data" (as a Kafka record with no value).
//   structured mode  the property `content-type` is `application/cloudevents+json` (matched
//                    case-insensitively, parameters allowed) and the payload is the JSON event
//                    format (json_format.h).
//
// Which mode a message is in: a `content-type` property starting with `application/cloudevents`
// means structured (as the Kafka binding says); otherwise a `ce_specversion` property means
// binary; otherwise the message is not a CloudEvent, and synthesize() makes one for it.
//
// Properties that are neither `ce_*` nor `content-type` are the user's: decoding returns them,
// unchanged and in their order, as `user_properties`, and encoding writes them after the event's
// own properties. A user property can therefore never override an attribute: the runtime copies
// `user_properties` across and lets the encoder write the event.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "event/event.h"

namespace shfn::event {

using properties = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view property_prefix = "ce_";
inline constexpr std::string_view content_type_property = "content-type";
// The type synthesize() gives a plain message unless configured otherwise.
inline constexpr std::string_view default_message_type = "dev.shfn.message";

enum class content_mode { binary, structured, synthesized };
std::string_view to_string(content_mode m);

// The parts of a Pulsar message that carry an event. The message key is not one of them: it is
// no CloudEvents attribute, and the runtime carries it across as it is (see partition_key()).
struct message_parts {
  properties props;
  bytes payload;
};

struct decoded {
  cloud_event event;
  content_mode mode = content_mode::binary;
  properties user_properties;  // every property not `ce_*` or `content-type`, in order
};

// Whether the message claims to be a CloudEvent in either mode (see above).
bool is_cloud_event(const properties& props);
// Whether it claims to be one in structured mode: its payload is an event, not the data.
bool is_structured(const properties& props);

// Decodes a binary- or structured-mode message and validates the event. Errors: not a CloudEvent
// (errc::not_a_cloud_event: the caller may synthesize() instead), a batch or a non-JSON format
// (errc::unsupported_format), an invalid `ce_` property name, a property given twice, a
// `ce_datacontenttype` that contradicts `content-type`, a structured payload that is not a valid
// event, or any validate() failure. In structured mode the payload is authoritative: `ce_*`
// properties next to it are ignored (the binding allows a sender to add them).
event_result<decoded> decode(const properties& props, byte_view payload);

// Encodes a valid event. Binary: ce_specversion, ce_id, ce_source, ce_type, content-type,
// ce_dataschema, ce_subject, ce_time, ce_<extension>..., then the user properties. Structured:
// content-type application/cloudevents+json, then the user properties. `user_properties` named
// `ce_*` or `content-type` are dropped, so that a stale one cannot contradict the event.
// An event whose datacontenttype is itself a CloudEvents media type (its data is an event)
// cannot travel in binary mode, since a receiver would read the content-type as structured
// mode: encode_binary writes such an event in structured mode.
message_parts encode_binary(const cloud_event& e, const properties& user_properties = {});
message_parts encode_structured(const cloud_event& e, const properties& user_properties = {});

// How a message from a plain producer becomes an event.
struct synthesis {
  std::string topic;       // becomes `source` (a topic name is an absolute URI: persistent://...)
  std::string message_id;  // becomes `id` ("ledger:entry:partition:batch" is unique per topic)
  std::string type{default_message_type};
  std::optional<std::int64_t> time_ms;  // ms since the epoch (publish or event time) -> `time`
};

// An event for a message that is not a CloudEvent: id, source, type and time as above;
// datacontenttype from a `content-type` property; data the payload (none when it is empty).
// `ce_<name>` properties, if the producer set some without ce_specversion, override what would
// be synthesized (so `-p ce_type=com.example.order` is enough to choose the type). Fails only
// when the result is invalid (an empty topic, a bad `ce_` property, ...).
event_result<decoded> synthesize(const properties& props, byte_view payload, const synthesis& s);

// decode() when the message is a CloudEvent, synthesize() otherwise: what the runtime calls for
// each message it consumes.
event_result<decoded> from_message(const properties& props, byte_view payload, const synthesis& s);

// The `partitionkey` extension (the Partitioning extension), for a runtime that opts in to
// using it as the message key as the Kafka binding's "Key Mapper" suggests.
std::optional<std::string_view> partition_key(const cloud_event& e);

}  // namespace shfn::event
