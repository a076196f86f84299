#pragma once
// The TZif decoder (RFC 8536, RFC 9636): bytes in, a zone's transitions, local time types and
// footer rule out. Sans-I/O; internal to the zone code.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "cron/posix_tz.h"

namespace shfn::cron::detail {

struct zone_data {
  std::string name;
  std::vector<std::chrono::sys_seconds> transitions;  // strictly ascending
  std::vector<std::uint8_t> transition_types;         // index into types, one per transition
  std::vector<local_type> types;                      // at least one; types[0] before the first
  std::optional<posix_tz> footer;  // after the last transition (all times if there is none)
  std::chrono::seconds max_abs_offset{0};
};

// The data block of the highest version present (the 64-bit one for version 2 and later) and
// the footer. Leap-second ("right/") data is refused: cron runs on POSIX time. The error says
// what is wrong ("truncated TZif data").
tl::expected<zone_data, std::string> parse_tzif(std::string_view bytes);

// Whether the bytes start with the TZif magic, for telling "not a zone file" from "damaged".
inline bool has_tzif_magic(std::string_view bytes) {
  return bytes.substr(0, 4) == "TZif";
}

}  // namespace shfn::cron::detail
