#pragma once
// CRC32C (Castagnoli), the checksum of Pulsar's payload frames; hardware-accelerated via isa-l.

#include <cstdint>

#include "base/bytes.h"

namespace shfn::wire {

// Extends `crc` (0 for a fresh checksum) over `data`, so a checksum can be built piecewise.
std::uint32_t crc32c(byte_view data, std::uint32_t crc = 0);

}  // namespace shfn::wire
