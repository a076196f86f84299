#include "wire/crc32c.h"

#include <isa-l/crc.h>

#include <climits>

namespace shfn::wire {

std::uint32_t crc32c(byte_view data, std::uint32_t crc) {
  // isa-l works on the pre/post-inverted register; invert around it to get plain CRC32C.
  std::uint32_t reg = ~crc;
  auto* p = const_cast<unsigned char*>(data.data());
  std::size_t left = data.size();
  while (left > 0) {
    int chunk = left > INT_MAX ? INT_MAX : static_cast<int>(left);
    reg = crc32_iscsi(p, chunk, reg);
    p += chunk;
    left -= static_cast<std::size_t>(chunk);
  }
  return ~reg;
}

}  // namespace shfn::wire
