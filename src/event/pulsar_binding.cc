#include "event/pulsar_binding.h"

#include <unordered_set>

#include "event/json_format.h"
#include "event/text.h"

namespace shfn::event {
namespace {

bool is_content_type(std::string_view name) {
  return iequals(name, content_type_property);
}
bool is_ce_property(std::string_view name) {
  return name.starts_with(property_prefix);
}
bool is_event_property(std::string_view name) {
  return is_ce_property(name) || is_content_type(name);
}

enum class shape { structured_json, structured_other, batch, binary, none };

const std::string* content_type_of(const properties& props) {
  for (const auto& [name, value] : props) {
    if (is_content_type(name)) return &value;
  }
  return nullptr;
}

bool has_property(const properties& props, std::string_view wanted) {
  for (const auto& [name, value] : props) {
    if (name == wanted) return true;
  }
  return false;
}

shape shape_of(const properties& props) {
  if (const auto* ct = content_type_of(props)) {
    switch (structured_format_of(*ct)) {
      case structured_format::json:
        return shape::structured_json;
      case structured_format::batch:
        return shape::batch;
      case structured_format::other:
        return shape::structured_other;
      case structured_format::none:
        break;
    }
  }
  return has_property(props, "ce_specversion") ? shape::binary : shape::none;
}

// A `ce_*` or content-type property given twice is ambiguous; user properties are not our concern.
event_result<void> check_duplicates(const properties& props) {
  std::unordered_set<std::string_view> seen;
  for (const auto& [name, value] : props) {
    if (!is_event_property(name)) continue;
    const std::string_view key = is_content_type(name) ? content_type_property : name;
    if (!seen.insert(key).second) {
      return fail_with(errc::invalid_event, "property " + quote(name) + " appears twice");
    }
  }
  return {};
}

properties user_properties_of(const properties& props) {
  properties out;
  for (const auto& kv : props) {
    if (!is_event_property(kv.first)) out.push_back(kv);
  }
  return out;
}

// Applies the `ce_*` and content-type properties to `e` and returns the others.
event_result<properties> read_properties(const properties& props, cloud_event& e) {
  properties user;
  std::optional<std::string> ce_content_type;
  for (const auto& [name, value] : props) {
    if (is_content_type(name)) {
      e.datacontenttype = value;
    } else if (is_ce_property(name)) {
      const std::string_view attr = std::string_view(name).substr(property_prefix.size());
      if (auto why = attribute_name_problem(attr)) {
        return fail_with(errc::invalid_event, *why + " (property " + quote(name) + ")");
      }
      if (attr == "datacontenttype") {
        ce_content_type = value;
      } else {
        add_unique_attribute(e, attr, value);
      }
    } else {
      user.emplace_back(name, value);
    }
  }
  // The binding maps datacontenttype to content-type; a ce_datacontenttype is tolerated when it
  // agrees or stands alone.
  if (ce_content_type) {
    if (e.datacontenttype && *e.datacontenttype != *ce_content_type) {
      return fail_with(errc::invalid_event,
                       "conflicting datacontenttype: property content-type is " +
                           quote(*e.datacontenttype) + " but ce_datacontenttype is " +
                           quote(*ce_content_type));
    }
    e.datacontenttype = std::move(ce_content_type);
  }
  return user;
}

void set_data(cloud_event& e, byte_view payload) {
  e.data.assign(payload.begin(), payload.end());
  e.has_data = !payload.empty();
}

event_result<decoded> finish(cloud_event e, content_mode mode, properties user) {
  if (auto ok = validate(e); !ok) return tl::unexpected(ok.error());
  return decoded{std::move(e), mode, std::move(user)};
}

}  // namespace

std::string_view to_string(content_mode m) {
  switch (m) {
    case content_mode::binary:
      return "binary";
    case content_mode::structured:
      return "structured";
    case content_mode::synthesized:
      return "synthesized";
  }
  return "unknown";
}

bool is_cloud_event(const properties& props) {
  return shape_of(props) != shape::none;
}

bool is_structured(const properties& props) {
  const shape s = shape_of(props);
  return s == shape::structured_json || s == shape::structured_other || s == shape::batch;
}

event_result<decoded> decode(const properties& props, byte_view payload) {
  if (auto ok = check_duplicates(props); !ok) return tl::unexpected(ok.error());
  switch (shape_of(props)) {
    case shape::none:
      return fail_with(errc::not_a_cloud_event,
                       "not a CloudEvent: no ce_specversion property, and content-type is not "
                       "application/cloudevents+json");
    case shape::batch:
      return fail_with(errc::unsupported_format, "batched CloudEvents (content-type " +
                                                     quote(*content_type_of(props)) +
                                                     ") are not supported on Pulsar messages");
    case shape::structured_other:
      return fail_with(errc::unsupported_format,
                       "unsupported CloudEvents format " + quote(*content_type_of(props)) +
                           ": only application/cloudevents+json is supported");
    case shape::structured_json: {
      auto e = from_json(as_chars(payload));
      if (!e) return tl::unexpected(e.error());
      return decoded{std::move(*e), content_mode::structured, user_properties_of(props)};
    }
    case shape::binary:
      break;
  }
  cloud_event e;
  e.specversion.clear();
  auto user = read_properties(props, e);
  if (!user) return tl::unexpected(user.error());
  set_data(e, payload);
  return finish(std::move(e), content_mode::binary, std::move(*user));
}

message_parts encode_binary(const cloud_event& e, const properties& user_properties) {
  if (e.datacontenttype && structured_format_of(*e.datacontenttype) != structured_format::none) {
    return encode_structured(e, user_properties);
  }
  message_parts out;
  for (auto [name, value] : attributes(e)) {
    if (name == "datacontenttype") {
      out.props.emplace_back(content_type_property, value);
    } else {
      out.props.emplace_back(std::string(property_prefix) + std::string(name), value);
    }
  }
  for (auto& kv : user_properties_of(user_properties)) out.props.push_back(std::move(kv));
  if (e.has_data) out.payload = e.data;
  return out;
}

message_parts encode_structured(const cloud_event& e, const properties& user_properties) {
  message_parts out;
  out.props.emplace_back(content_type_property, json_media_type);
  for (auto& kv : user_properties_of(user_properties)) out.props.push_back(std::move(kv));
  const auto text = to_json(e);
  out.payload.assign(text.begin(), text.end());
  return out;
}

event_result<decoded> synthesize(const properties& props, byte_view payload, const synthesis& s) {
  if (auto ok = check_duplicates(props); !ok) return tl::unexpected(ok.error());
  cloud_event e;
  e.id = s.message_id;
  e.source = s.topic;
  e.type = s.type;
  if (s.time_ms) e.time = format_time_ms(*s.time_ms);
  auto user = read_properties(props, e);
  if (!user) return tl::unexpected(user.error());
  set_data(e, payload);
  return finish(std::move(e), content_mode::synthesized, std::move(*user));
}

event_result<decoded> from_message(const properties& props, byte_view payload, const synthesis& s) {
  if (!is_cloud_event(props)) return synthesize(props, payload, s);
  return decode(props, payload);
}

std::optional<std::string_view> partition_key(const cloud_event& e) {
  return attribute(e, "partitionkey");
}

}  // namespace shfn::event
