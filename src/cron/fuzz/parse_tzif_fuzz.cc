// libFuzzer target: any bytes as a TZif file (what /usr/share/zoneinfo holds) must parse into a
// zone or an error; never a crash, a hang or an over-read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cron/tzif.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)shfn::cron::detail::parse_tzif(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
