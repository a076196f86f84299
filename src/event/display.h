#pragma once
// Events printed the way Knative's event-display prints them: "☁️  cloudevents.Event\n" and
// then the CloudEvents Go SDK's Event.String():
//
//   ☁️  cloudevents.Event
//   Context Attributes,
//     specversion: 1.0
//     type: dev.knative.example
//     source: /mycontext
//     subject: larger-context      (each optional line only when set)
//     id: 1234
//     time: 2018-04-05T17:31:00Z   (in UTC, as Go's RFC3339Nano prints it)
//     dataschema: http://example.com/schema
//     datacontenttype: application/json
//   Extensions,                    (only when there are some; sorted by name)
//     myext: value
//   Data,                          (only when the event has data)
//     {
//       "msg": "hi"
//     }
//
// Data whose media type is exactly application/json is re-indented as Go's json.Indent(prefix
// "  ", indent "  ") does (tokens kept verbatim, ": " after keys, empty {} and [] kept); other
// data, or JSON that does not parse, is written as it is. Each line ends with "\n".
//
// Two differences from the Go SDK, both where shfn keeps less than Go does: a time that Go could
// not represent (a leap second, a year past 9999 after conversion) is printed as received; and
// data decoded from `data_base64` is headed "Data," where Go writes "Data (binary),".

#include <optional>
#include <string>
#include <string_view>

#include "event/event.h"

namespace shfn::event {

std::string display(const cloud_event& e);

// Go's json.Indent(src, prefix, indent); nullopt when `src` is not valid JSON.
std::optional<std::string> go_json_indent(std::string_view src, std::string_view prefix,
                                          std::string_view indent);

}  // namespace shfn::event
