// libFuzzer target: any bytes, read as a Pulsar message's properties and payload (and as an HTTP
// message's headers and body), must decode to a valid event or an error; never a crash or a
// hang. A decoded event must survive re-encoding: binary mode gives back the same event, and
// structured mode and HTTP decode again.
//
// Input layout: the bytes up to the first "\n\n" are property lines "name=value" (a line with no
// '=' is a name with an empty value); the rest is the payload. The first byte also picks whether
// a structured content-type property is added, so the JSON reader is reached often.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/strings.h"
#include "event/display.h"
#include "event/http_binding.h"
#include "event/json_format.h"
#include "event/pulsar_binding.h"

namespace {

using namespace shfn;
using namespace shfn::event;

// Binary mode cannot carry "has data, but empty"; compare events as binary mode sees them.
cloud_event as_binary_sees(cloud_event e) {
  e.has_data = e.has_data && !e.data.empty();
  return e;
}

void check_round_trips(const cloud_event& e) {
  auto binary = encode_binary(e);
  auto again = decode(binary.props, binary.payload);
  if (!again) std::abort();
  const bool structured_only =
      e.datacontenttype && structured_format_of(*e.datacontenttype) != structured_format::none;
  if (!structured_only && as_binary_sees(again->event) != as_binary_sees(e)) std::abort();

  auto structured = encode_structured(e);
  auto from_structured = decode(structured.props, structured.payload);
  if (!from_structured) std::abort();
  if (from_structured->event.id != e.id || from_structured->event.extensions != e.extensions) {
    std::abort();
  }

  auto http = to_http(e);
  auto from_wire = from_http(http.headers, http.body);
  if (!from_wire || !*from_wire) std::abort();
  (void)display(e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto split_at = input.find("\n\n");
  const std::string_view head = split_at == std::string_view::npos ? "" : input.substr(0, split_at);
  const std::string_view body =
      split_at == std::string_view::npos ? input : input.substr(split_at + 2);
  properties props;
  header_list headers;
  if (!head.empty()) {
    for (auto line : split(head, '\n')) {
      const auto eq = line.find('=');
      props.emplace_back(std::string(line.substr(0, eq)),
                         eq == std::string_view::npos ? "" : std::string(line.substr(eq + 1)));
    }
  }
  if (size > 0 && (data[0] & 1) != 0) props.emplace_back("content-type", json_media_type);
  for (const auto& [name, value] : props) headers.emplace_back(name, value);

  const auto payload = as_bytes(body);
  if (auto d = from_message(props, payload,
                            {.topic = "persistent://public/default/t",
                             .message_id = "1:2:-1:-1",
                             .time_ms = 1700000000000})) {
    check_round_trips(d->event);
  }
  if (auto h = from_http(headers, payload); h && *h) check_round_trips(**h);
  (void)go_json_indent(body, "  ", "  ");
  return 0;
}
