#pragma once
// Murmur3 (32-bit, seed 0) of a key, made non-negative as Pulsar's Murmur3_32Hash does, so that
// key routing to partitions matches the official clients' default.

#include <cstdint>
#include <string_view>

namespace shfn::wire {

std::uint32_t murmur3_32(std::string_view key, std::uint32_t seed = 0);

inline std::int32_t pulsar_key_hash(std::string_view key) {
  return static_cast<std::int32_t>(murmur3_32(key) & 0x7fffffffu);
}

}  // namespace shfn::wire
