#include "event/uuid.h"

#include <cstdint>
#include <random>

namespace shfn::event {
namespace {

std::mt19937_64& generator() {
  // Seeded with 256 bits, more than the 122 a UUID draws, so threads seeded at the same moment
  // do not share a sequence.
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return rng;
}

}  // namespace

std::string uuid_v4() {
  static constexpr char hex[] = "0123456789abcdef";
  std::uint64_t hi = generator()();
  std::uint64_t lo = generator()();
  hi = (hi & ~std::uint64_t{0xF000}) | 0x4000;                           // version 4
  lo = (lo & ~(std::uint64_t{0xC} << 60)) | (std::uint64_t{0x8} << 60);  // variant 10xx
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    const std::uint64_t word = i < 16 ? hi : lo;
    out += hex[(word >> (60 - 4 * (i % 16))) & 0xF];
  }
  return out;
}

}  // namespace shfn::event
