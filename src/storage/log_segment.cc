// The segment and index files of the log (log_segment.h): names, the segment header, zeros
// written ahead, the record reader, and a segment's index encoded and adopted.
#include "storage/log_segment.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstring>

#include "storage/encoding.h"
#include "wire/crc32c.h"

namespace shfn::storage {
namespace {

const std::array<std::uint8_t, zero_chunk_bytes>& zeros() {
  static const std::array<std::uint8_t, zero_chunk_bytes> chunk{};
  return chunk;
}

}  // namespace

std::string file_name(std::uint64_t base, std::string_view extension) {
  return fmt::format("{:020}{}", base, extension);
}

std::optional<std::uint64_t> parse_file_name(std::string_view name, std::string_view extension) {
  if (name.size() != 20 + extension.size() || !name.ends_with(extension)) return std::nullopt;
  std::uint64_t base = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + 20, base);
  if (ec != std::errc() || end != name.data() + 20) return std::nullopt;
  return base;
}

bytes encode_segment_header(std::uint64_t base) {
  bytes out = bytes(segment_magic.begin(), segment_magic.end());
  put_u32(out, format_version);
  put_u64(out, base);
  put_u32(out, wire::crc32c(out));
  return out;
}

bool segment_header_is_valid(byte_view header, std::uint64_t base) {
  return header.size() == segment_header_bytes &&
         std::equal(segment_magic.begin(), segment_magic.end(), header.begin()) &&
         load_u32(header.data() + 8) == format_version && load_u64(header.data() + 12) == base &&
         load_u32(header.data() + 20) == wire::crc32c(header.first(20));
}

result<void> write_zeros(int fd, std::uint64_t from, std::uint64_t to) {
  while (from < to) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(to - from, zero_chunk_bytes));
    if (auto ok = write_all_at(fd, byte_view(zeros()).first(n), from); !ok) return ok;
    from += n;
  }
  return {};
}

result<bool> all_zeros(int fd, std::uint64_t from, std::uint64_t to) {
  std::array<std::uint8_t, zero_chunk_bytes> chunk{};
  while (from < to) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(to - from, chunk.size()));
    auto got = read_at(fd, std::span<std::uint8_t>(chunk.data(), n), from);
    if (!got) return fail(got.error());
    if (*got == 0) return true;  // the file is shorter than we were told
    if (std::memcmp(chunk.data(), zeros().data(), *got) != 0) return false;
    from += *got;
  }
  return true;
}

result<scan_status> record_reader::next(record_view& out) {
  if (position_ >= end_) return scan_status::end;
  auto head = fetch(8);
  if (!head) return fail(head.error());
  if (*head == nullptr) return scan_status::torn;
  const std::uint32_t length = load_u32(*head);
  const std::uint32_t crc = load_u32(*head + 4);
  if (length == 0 && crc == 0) return scan_status::unwritten;
  if (length < record_fixed_bytes) return scan_status::corrupt;
  if (length > end_ - position_ - 8) return scan_status::torn;
  auto whole = fetch(8 + std::size_t{length});
  if (!whole) return fail(whole.error());
  if (*whole == nullptr) return scan_status::torn;
  const byte_view body(*whole + 8, length);
  if (wire::crc32c(body) != crc) return scan_status::corrupt;
  out = {.offset = load_u64(body.data()),
         .publish_time = load_u64(body.data() + 8),
         .data = body.subspan(record_fixed_bytes),
         .position = position_,
         .size = 8 + std::uint64_t{length}};
  position_ += out.size;
  return scan_status::record;
}

result<const std::uint8_t*> record_reader::fetch(std::size_t n) {
  if (position_ >= buffer_position_ && position_ + n <= buffer_position_ + buffered_) {
    return buffer_.data() + (position_ - buffer_position_);
  }
  if (n > end_ - position_) return nullptr;
  const auto want = static_cast<std::size_t>(
      std::max<std::uint64_t>(n, std::min<std::uint64_t>(read_chunk_bytes, end_ - position_)));
  if (buffer_.size() < want) buffer_.resize(want);
  // What is already buffered from position_ on (the start of a record larger than the
  // read-ahead) moves to the front instead of being read again.
  std::size_t kept = 0;
  if (position_ >= buffer_position_ && position_ < buffer_position_ + buffered_) {
    kept = static_cast<std::size_t>(buffer_position_ + buffered_ - position_);
    std::memmove(buffer_.data(), buffer_.data() + (position_ - buffer_position_), kept);
  }
  auto got =
      read_at(fd_, std::span<std::uint8_t>(buffer_.data() + kept, want - kept), position_ + kept);
  if (!got) return fail(got.error());
  buffer_position_ = position_;
  buffered_ = kept + *got;
  if (buffered_ < n) return nullptr;  // the file is shorter than we were told
  return buffer_.data();
}

bytes log::segment::encode_index() const {
  bytes out(index_magic.begin(), index_magic.end());
  put_u32(out, format_version);
  put_u64(out, base);
  put_u64(out, end - base);
  put_u64(out, file_bytes);
  put_u64(out, min_time);
  put_u64(out, max_time);
  put_u32(out, static_cast<std::uint32_t>(index.size()));
  for (const point& p : index) {
    put_u64(out, p.offset);
    put_u64(out, p.position);
  }
  put_u32(out, wire::crc32c(out));
  return out;
}

bool log::segment::adopt_index(byte_view file) {
  if (file.size() < 4 ||
      load_u32(file.data() + file.size() - 4) != wire::crc32c(file.first(file.size() - 4))) {
    return false;
  }
  byte_reader in(file.first(file.size() - 4));
  byte_view magic;
  std::uint32_t version = 0, points = 0;
  std::uint64_t file_base = 0, count = 0, size_on_disk = 0, min = 0, max = 0;
  if (!in.read_span(8, magic) || !std::equal(magic.begin(), magic.end(), index_magic.begin()) ||
      !in.read_u32(version) || version != format_version || !read_u64(in, file_base) ||
      !read_u64(in, count) || !read_u64(in, size_on_disk) || !read_u64(in, min) ||
      !read_u64(in, max) || !in.read_u32(points) || in.remaining() != points * 16ull) {
    return false;
  }
  if (file_base != base || size_on_disk != file_bytes || count == 0 || min > max) return false;
  std::vector<point> loaded(points);
  for (point& p : loaded) {
    read_u64(in, p.offset);
    read_u64(in, p.position);
  }
  if (!points_are_plausible(loaded, base + count)) return false;
  index = std::move(loaded);
  end = base + count;
  min_time = min;
  max_time = max;
  indexed = true;
  return true;
}

bool log::segment::points_are_plausible(const std::vector<point>& points,
                                        std::uint64_t end_offset) const {
  if (points.empty() || points[0].offset != base || points[0].position != segment_header_bytes) {
    return false;
  }
  for (std::size_t i = 1; i < points.size(); ++i) {
    if (points[i].offset <= points[i - 1].offset || points[i].position <= points[i - 1].position) {
      return false;
    }
  }
  return points.back().offset < end_offset && points.back().position < file_bytes;
}

}  // namespace shfn::storage
