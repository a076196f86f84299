#pragma once
// Events and byte helpers the event tests share.

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "event/event.h"

namespace shfn::event::testing {

inline bytes to_bytes(std::string_view s) {
  return bytes(s.begin(), s.end());
}
inline std::string to_string(const bytes& b) {
  return std::string(b.begin(), b.end());
}

// A valid event with every optional attribute, two extensions and JSON data.
inline cloud_event full_event() {
  cloud_event e;
  e.id = "1234-1234-1234";
  e.source = "/mycontext/subcontext";
  e.type = "com.example.someevent";
  e.datacontenttype = "application/json";
  e.dataschema = "https://example.com/schema.json";
  e.subject = "mynewfile.jpg";
  e.time = "2018-04-05T17:31:00Z";
  e.extensions = {{"comexampleextension1", "value"}, {"partitionkey", "customer-7"}};
  e.data = to_bytes(R"({"appinfoA":"abc","appinfoB":123})");
  e.has_data = true;
  return e;
}

inline cloud_event minimal_event() {
  cloud_event e;
  e.id = "A234";
  e.source = "/mycontext";
  e.type = "com.example.someevent";
  return e;
}

}  // namespace shfn::event::testing
