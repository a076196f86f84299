// libFuzzer target: any bytes, read as an Avro schema definition (what any client may send with
// a producer or consumer), must parse or be refused with a reason; never a crash, a hang or
// unbounded recursion. A schema that parses must read its own data, as it does by Avro's rules.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "schema/avro.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = shfn::schema::avro::schema::parse(text);
  if (!parsed) {
    if (parsed.error().empty()) std::abort();  // a refusal always says why
    return 0;
  }
  if (shfn::schema::avro::cannot_read(*parsed, *parsed)) std::abort();
  return 0;
}
