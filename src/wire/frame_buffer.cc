#include "wire/frame_buffer.h"

#include <cstring>

namespace shfn::wire {

frame_buffer::frame_buffer(std::size_t max_frame_size, std::size_t initial_capacity)
    : data_(initial_capacity), max_frame_size_(max_frame_size) {}

std::span<std::uint8_t> frame_buffer::writable() {
  // Compact first, so the unconsumed bytes start at 0, then make room for the frame being
  // received (its size is known once 4 bytes are in; decode_frame has already bounded it).
  if (begin_ > 0) {
    std::memmove(data_.data(), data_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  std::size_t need = end_ + 1;
  if (end_ >= 4) need = std::max(need, 4 + std::size_t{load_u32(data_.data())});
  if (filled_ && data_.size() < read_ahead) need = std::max(need, data_.size() * 2);
  filled_ = false;
  if (need > data_.size()) data_.resize(std::max(need, data_.size() * 2));
  return {data_.data() + end_, data_.size() - end_};
}

void frame_buffer::commit(std::size_t n) {
  end_ += n;
  filled_ = end_ == data_.size();
}

result<std::optional<frame>> frame_buffer::next() {
  auto decoded = decode_frame(byte_view(data_.data() + begin_, end_ - begin_), max_frame_size_);
  if (!decoded) return fail(decoded.error());
  if (!decoded->has_value()) return std::nullopt;
  begin_ += (*decoded)->consumed;
  return std::move((*decoded)->value);
}

}  // namespace shfn::wire
