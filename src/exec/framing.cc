#include "exec/framing.h"

#include <algorithm>
#include <limits>

#include "exec/errc.h"

namespace shfn::exec {
namespace {

constexpr std::uint8_t delimiter_of(framing f) {
  return f == framing::lines ? '\n' : '\0';
}

}  // namespace

std::string_view to_string(framing f) {
  switch (f) {
    case framing::lines:
      return "lines";
    case framing::nul:
      return "nul";
    case framing::length_prefixed:
      return "length_prefixed";
  }
  return "unknown";
}

result<void> encode_frame(framing f, byte_view payload, bytes& out) {
  if (f == framing::length_prefixed) {
    if (payload.size() > std::numeric_limits<std::uint32_t>::max()) {
      return fail(errc::payload_too_large);
    }
    put_u32(out, static_cast<std::uint32_t>(payload.size()));
    out.insert(out.end(), payload.begin(), payload.end());
    return {};
  }
  const std::uint8_t delimiter = delimiter_of(f);
  if (std::find(payload.begin(), payload.end(), delimiter) != payload.end()) {
    return fail(errc::payload_contains_delimiter);
  }
  out.insert(out.end(), payload.begin(), payload.end());
  out.push_back(delimiter);
  return {};
}

frame_decoder::frame_decoder(framing f, std::size_t max_payload)
    : framing_(f), max_payload_(max_payload) {}

void frame_decoder::feed(byte_view data) {
  // Compact once the consumed prefix is at least half the buffer: amortised O(1) per byte.
  if (start_ > 0 && start_ * 2 >= buffer_.size()) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), data.begin(), data.end());
}

result<std::optional<bytes>> frame_decoder::next() {
  if (broken_) return fail(errc::frame_too_large);
  auto r = framing_ == framing::length_prefixed ? next_length_prefixed()
                                                : next_delimited(delimiter_of(framing_));
  if (!r) broken_ = true;
  return r;
}

result<std::optional<bytes>> frame_decoder::next_delimited(std::uint8_t delimiter) {
  const auto from = buffer_.begin() + static_cast<std::ptrdiff_t>(start_ + scanned_);
  const auto found = std::find(from, buffer_.end(), delimiter);
  if (found == buffer_.end()) {
    scanned_ = buffered();
    if (scanned_ > max_payload_) return fail(errc::frame_too_large);
    return std::optional<bytes>{};
  }
  const auto size = static_cast<std::size_t>(found - buffer_.begin()) - start_;
  if (size > max_payload_) return fail(errc::frame_too_large);
  return std::optional<bytes>{take(start_, size, size + 1)};
}

result<std::optional<bytes>> frame_decoder::next_length_prefixed() {
  if (buffered() < 4) return std::optional<bytes>{};
  const std::size_t size = load_u32(buffer_.data() + start_);
  if (size > max_payload_) return fail(errc::frame_too_large);
  if (buffered() < 4 + size) return std::optional<bytes>{};
  return std::optional<bytes>{take(start_ + 4, size, 4 + size)};
}

bytes frame_decoder::take(std::size_t payload_offset, std::size_t payload_size,
                          std::size_t frame_size) {
  const auto first = buffer_.begin() + static_cast<std::ptrdiff_t>(payload_offset);
  bytes payload(first, first + static_cast<std::ptrdiff_t>(payload_size));
  start_ += frame_size;
  scanned_ = 0;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  return payload;
}

}  // namespace shfn::exec
