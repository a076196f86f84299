#include "wire/murmur3.h"

#include <cstring>

namespace shfn::wire {
namespace {

constexpr std::uint32_t c1 = 0xcc9e2d51;
constexpr std::uint32_t c2 = 0x1b873593;

std::uint32_t rotl(std::uint32_t x, int r) {
  return (x << r) | (x >> (32 - r));
}

std::uint32_t mix_block(std::uint32_t k) {
  k *= c1;
  k = rotl(k, 15);
  return k * c2;
}

}  // namespace

std::uint32_t murmur3_32(std::string_view key, std::uint32_t seed) {
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const std::size_t len = key.size();
  std::uint32_t h = seed;
  std::size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    std::uint32_t k = static_cast<std::uint32_t>(data[i]) | (data[i + 1] << 8) |
                      (data[i + 2] << 16) | (static_cast<std::uint32_t>(data[i + 3]) << 24);
    h ^= mix_block(k);
    h = rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  std::uint32_t tail = 0;
  switch (len & 3) {
    case 3:
      tail ^= static_cast<std::uint32_t>(data[i + 2]) << 16;
      [[fallthrough]];
    case 2:
      tail ^= static_cast<std::uint32_t>(data[i + 1]) << 8;
      [[fallthrough]];
    case 1:
      tail ^= data[i];
      h ^= mix_block(tail);
  }
  h ^= static_cast<std::uint32_t>(len);
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

}  // namespace shfn::wire
