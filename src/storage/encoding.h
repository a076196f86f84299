#pragma once
// Big-endian 64-bit fields for the storage formats (base/bytes.h stops at 32 bits).

#include <cstdint>

#include "base/bytes.h"

namespace shfn::storage {

inline void put_u64(bytes& out, std::uint64_t v) {
  put_u32(out, static_cast<std::uint32_t>(v >> 32));
  put_u32(out, static_cast<std::uint32_t>(v));
}
inline void store_u64(std::uint8_t* at, std::uint64_t v) {
  store_u32(at, static_cast<std::uint32_t>(v >> 32));
  store_u32(at + 4, static_cast<std::uint32_t>(v));
}
inline std::uint64_t load_u64(const std::uint8_t* at) {
  return (std::uint64_t{load_u32(at)} << 32) | load_u32(at + 4);
}
inline bool read_u64(byte_reader& in, std::uint64_t& v) {
  byte_view field;
  if (!in.read_span(8, field)) return false;
  v = load_u64(field.data());
  return true;
}
inline void put_bytes(bytes& out, byte_view data) {
  out.insert(out.end(), data.begin(), data.end());
}

}  // namespace shfn::storage
