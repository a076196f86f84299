#include "function/events.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "event/environment.h"
#include "event/history.h"
#include "event/text.h"
#include "function/stage.h"

namespace shfn::function {
namespace {

event::synthesis synthesis_for(const client::message& m) {
  // The event time when the producer set one, else when the broker got the message.
  const std::uint64_t ms = m.event_time != 0 ? m.event_time : m.publish_time;
  event::synthesis s{.topic = m.topic, .message_id = m.id.str()};
  if (ms != 0) s.time_ms = static_cast<std::int64_t>(ms);
  return s;
}

// Knative keeps at most this much of a failed response in knativeerrordata.
constexpr std::size_t error_data_limit = 1024;

// The event as the message's payload and properties (after the user properties already there),
// in the input's mode: structured stays structured, anything else goes binary.
void encode_into(client::outgoing_message& out, const event::cloud_event& e,
                 event::content_mode mode) {
  auto parts = mode == event::content_mode::structured ? event::encode_structured(e, out.properties)
                                                       : event::encode_binary(e, out.properties);
  out.payload = std::move(parts.payload);
  out.properties = std::move(parts.props);
}

// The message's event without its data, for a caller that replaces the data or does not need
// it: a binary event's data is the whole payload, which is then not copied. (A structured
// event's attributes are in its payload, so it is decoded whole.)
event::event_result<event::decoded> event_without_data(const client::message& m) {
  const byte_view payload = event::is_structured(m.properties) ? byte_view(m.payload) : byte_view();
  return event::from_message(m.properties, payload, synthesis_for(m));
}

void set_all(event::cloud_event& e, const event::attribute_list* set) {
  if (set == nullptr) return;
  for (const auto& [name, value] : *set) (void)event::set_attribute(e, name, value);
}

}  // namespace

event::event_result<event::decoded> event_of(const client::message& m) {
  return event::from_message(m.properties, m.payload, synthesis_for(m));
}

std::optional<bytes> structured_data(const client::message& m) {
  // Only a structured event is decoded here: a binary one's payload is its data already.
  if (!event::is_structured(m.properties)) return std::nullopt;
  auto decoded = event::decode(m.properties, m.payload);
  if (!decoded) return std::nullopt;
  return std::move(decoded->event.data);
}

environment event_environment(const client::message& m, std::vector<std::string>& warnings) {
  // The environment holds no data.
  auto decoded = event_without_data(m);
  if (!decoded) {
    warnings.push_back("not a valid CloudEvent, so no SHFN_CE_* variables: " +
                       decoded.error().to_string());
    return {};
  }
  return event::event_environment(decoded->event);
}

client::outgoing_message output_message(const client::message& in, exec::outcome& o,
                                        std::vector<std::string>& warnings, bool always_event,
                                        const event::attribute_list* set) {
  client::outgoing_message out{.payload = std::move(o.output),
                               .key = o.metadata.key ? o.metadata.key : in.key,
                               .properties = std::move(o.metadata.properties),
                               .event_time = in.event_time};
  // The common case costs one look at the properties: a plain message in, no attribute set.
  if (!always_event && set == nullptr && !event::is_cloud_event(in.properties) &&
      o.metadata.attributes.empty())
    return out;
  auto decoded = event_without_data(in);  // stdout is the data
  if (!decoded) {
    warnings.push_back("the input is not a valid CloudEvent, so the output is a plain message: " +
                       decoded.error().to_string());
    return out;
  }
  event::cloud_event e = std::move(decoded->event);
  e.data = std::move(out.payload);
  e.has_data = !e.data.empty();
  for (auto& w : event::apply_metadata(e, o.metadata.attributes)) warnings.push_back(std::move(w));
  set_all(e, set);
  event::append_history(e, in.topic);
  encode_into(out, e, decoded->mode);
  return out;
}

client::outgoing_message reply_message(const client::message& in, event::cloud_event reply,
                                       const event::attribute_list* set) {
  // Not decoded again: the step that replied had the input's event, and the encoder keeps only
  // the user's properties of those it is given.
  client::outgoing_message out{
      .key = in.key, .properties = in.properties, .event_time = in.event_time};
  const auto mode = event::is_structured(in.properties) ? event::content_mode::structured
                                                        : event::content_mode::binary;
  set_all(reply, set);
  event::append_history(reply, in.topic);
  encode_into(out, reply, mode);
  return out;
}

std::optional<int> reply_ttl(const client::message& in) {
  int ttl = broker_ttl;
  if (auto decoded = event_without_data(in)) {
    if (auto v = event::attribute(decoded->event, broker_ttl_attribute)) {
      int parsed = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), parsed);
      if (ec == std::errc() && end == v->data() + v->size()) ttl = parsed;
    }
  }
  if (ttl - 1 <= 0) return std::nullopt;
  return ttl - 1;
}

client::outgoing_message with_knative_error(const client::message& in, const knative_error& error) {
  client::outgoing_message out{.payload = in.payload,
                               .key = in.key,
                               .properties = in.properties,
                               .event_time = in.event_time};
  auto decoded = event_of(in);
  if (!decoded) return out;
  event::cloud_event& e = decoded->event;
  (void)event::set_attribute(e, "knativeerrordest", error.destination);
  (void)event::set_attribute(e, "knativeerrorcode", std::to_string(error.code));
  if (!error.data.empty()) {
    const std::string_view data(error.data.data(), std::min(error.data.size(), error_data_limit));
    (void)event::set_attribute(e, "knativeerrordata", event::base64_encode(as_bytes(data)));
  }
  out.properties = std::move(decoded->user_properties);
  encode_into(out, e, decoded->mode);
  return out;
}

}  // namespace shfn::function
