#pragma once
// Big-endian integer access over byte buffers, as the Pulsar framing uses.
// The reader never reads past its span: every getter reports whether the bytes were there.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shfn {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

inline byte_view as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline void put_u16(bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_u32(bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
inline void store_u32(std::uint8_t* at, std::uint32_t v) {
  at[0] = static_cast<std::uint8_t>(v >> 24);
  at[1] = static_cast<std::uint8_t>(v >> 16);
  at[2] = static_cast<std::uint8_t>(v >> 8);
  at[3] = static_cast<std::uint8_t>(v);
}
inline std::uint32_t load_u32(const std::uint8_t* at) {
  return (std::uint32_t{at[0]} << 24) | (std::uint32_t{at[1]} << 16) | (std::uint32_t{at[2]} << 8) |
         std::uint32_t{at[3]};
}

// Sequential reader over a span; a failed read leaves the position unchanged.
class byte_reader {
 public:
  explicit byte_reader(byte_view data) : data_(data) {}

  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }

  bool read_u16(std::uint16_t& v) {
    if (remaining() < 2) return false;
    v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool read_u32(std::uint32_t& v) {
    if (remaining() < 4) return false;
    v = load_u32(data_.data() + pos_);
    pos_ += 4;
    return true;
  }
  bool peek_u16(std::uint16_t& v) const {
    if (remaining() < 2) return false;
    v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    return true;
  }
  bool read_span(std::size_t n, byte_view& out) {
    if (remaining() < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  byte_view rest() const { return data_.subspan(pos_); }

 private:
  byte_view data_;
  std::size_t pos_ = 0;
};

}  // namespace shfn
