#pragma once
// Builds TZif files (RFC 8536 layout) for tests: hand-made zones for the edge cases real tzdata
// may not show on a given host.

#include <cstdint>
#include <string>
#include <vector>

namespace shfn::cron::testing {

struct tzif_type {
  std::int32_t offset;
  bool dst;
  std::string abbrev;
};

struct tzif_spec {
  char version = '2';  // 0 for a version 1 file (no 64-bit block, no footer)
  std::vector<std::int64_t> times;
  std::vector<std::uint8_t> type_of;  // one per time
  std::vector<tzif_type> types;
  std::string footer;            // the TZ string (version 2+)
  std::uint32_t leap_count = 0;  // leap-second records to add (zeros)
};

inline void put32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(char((v >> shift) & 0xff));
}

inline void put64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(char((v >> shift) & 0xff));
}

inline std::string tzif_block(const tzif_spec& s, int time_size, char version) {
  std::string chars;
  std::vector<std::uint8_t> index;
  for (const auto& t : s.types) {
    index.push_back(std::uint8_t(chars.size()));
    chars += t.abbrev;
    chars.push_back('\0');
  }
  std::string out = "TZif";
  out.push_back(version);
  out.append(15, '\0');
  put32(out, std::uint32_t(s.types.size()));  // isutcnt
  put32(out, std::uint32_t(s.types.size()));  // isstdcnt
  put32(out, s.leap_count);
  put32(out, std::uint32_t(s.times.size()));
  put32(out, std::uint32_t(s.types.size()));
  put32(out, std::uint32_t(chars.size()));
  for (auto t : s.times) {
    if (time_size == 8) {
      put64(out, std::uint64_t(t));
    } else {
      put32(out, std::uint32_t(std::int32_t(t)));
    }
  }
  for (auto i : s.type_of) out.push_back(char(i));
  for (std::size_t i = 0; i < s.types.size(); ++i) {
    put32(out, std::uint32_t(s.types[i].offset));
    out.push_back(s.types[i].dst ? 1 : 0);
    out.push_back(char(index[i]));
  }
  out += chars;
  for (std::uint32_t i = 0; i < s.leap_count; ++i) {
    if (time_size == 8) {
      put64(out, 0);
    } else {
      put32(out, 0);
    }
    put32(out, 0);
  }
  out.append(s.types.size(), '\0');  // standard/wall
  out.append(s.types.size(), '\0');  // UT/local
  return out;
}

inline std::string build_tzif(const tzif_spec& s) {
  if (s.version == 0) return tzif_block(s, 4, 0);
  return tzif_block(s, 4, s.version) + tzif_block(s, 8, s.version) + "\n" + s.footer + "\n";
}

}  // namespace shfn::cron::testing
