#pragma once
// A function's messages as CloudEvents (DESIGN.md, "CloudEvents on Pulsar"; src/event).
//
// Every consumed message has an event: the one it carries (binary or structured mode) or one
// synthesized from it (id = the message id, source = the topic). A script in exec mode sees its
// attributes as SHFN_CE_* variables.
//
// What a function publishes is an event when its input was one, or when the script set an
// attribute (`ce.NAME=VALUE` in its metadata file): the input's event with the script's stdout as
// its data, the script's attributes applied, and the input topic appended to the history
// extension; in the input's mode (binary for a synthesized event). Otherwise the output stays a
// plain message, as a plain function's always was.
//
// Pure functions of a message and an outcome; any thread.

#include <optional>
#include <string>
#include <vector>

#include "client/message.h"
#include "event/pulsar_binding.h"
#include "exec/command.h"
#include "function/script_env.h"

namespace shfn::function {

// The event of a consumed message: decoded, or synthesized for a plain one.
event::event_result<event::decoded> event_of(const client::message& m);

// What the script reads on stdin: the message's payload, except for a structured-mode event,
// whose data it is (nullopt then means "the payload": the common case copies nothing). A
// structured event that does not decode gives the payload, as a plain message would.
std::optional<bytes> structured_data(const client::message& m);

// SHFN_CE_* for the message's event; none (and a warning) when it carries an invalid event.
environment event_environment(const client::message& m, std::vector<std::string>& warnings);

// The message a successful invocation publishes: stdout with the key and properties the script
// set (the input's key by default) and, as said above, as an event. `o.output` is moved from.
// Attributes the script set that cannot be applied become warnings, as do inputs that claim to be
// events and are not (their output stays plain).
// `always_event` (flow stages): the output is an event for a plain input too.
// `set`: attributes to set on the output event (a Trigger's reply TTL); the output is then an
// event whatever the input.
client::outgoing_message output_message(const client::message& in, exec::outcome& o,
                                        std::vector<std::string>& warnings,
                                        bool always_event = false,
                                        const event::attribute_list* set = nullptr);

// The message a flow step's reply event becomes (an attribute filter's match, a `uri`
// subscriber's response): the event with the input topic appended to its history, in the input's
// mode (binary for a plain input), with the input's key and user properties.
client::outgoing_message reply_message(const client::message& in, event::cloud_event reply,
                                       const event::attribute_list* set = nullptr);

// The knativebrokerttl a Trigger's reply to `in` carries back into its Broker: one less than the
// input event's (function::broker_ttl when it has none or it is not a number); nullopt when that
// is 0 or less, and the reply must be dropped.
std::optional<int> reply_ttl(const client::message& in);

// Knative's dead-letter extensions: knativeerrordest (what the event failed to reach),
// knativeerrorcode (an HTTP status, or a script's exit code) and knativeerrordata (the response
// body or the tail of stderr, at most 1 KiB, Base64 as Knative sends it).
struct knative_error {
  std::string destination;
  int code = 0;
  std::string data;
};
// The input as an event carrying the extensions, in its mode (binary for a plain input). An
// input that claims to be an event and is not stays as it is, without them.
client::outgoing_message with_knative_error(const client::message& in, const knative_error& error);

}  // namespace shfn::function
