#include "wire/batch.h"

#include <string_view>

#include "wire/errc.h"

namespace shfn::wire {
namespace {

// A protobuf wire-format reader for the fast path below: every read reports failure instead of
// reading past the end.
class proto_reader {
 public:
  explicit proto_reader(byte_view data) : at_(data.data()), end_(data.data() + data.size()) {}

  bool done() const { return at_ == end_; }

  bool varint(std::uint64_t& v) {
    if (at_ != end_ && *at_ < 0x80) {  // tags and small values: one byte
      v = *at_++;
      return true;
    }
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ == end_) return false;
      const std::uint8_t b = *at_++;
      v |= std::uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80u) == 0) return true;
    }
    return false;  // more than 10 bytes
  }

  bool length_delimited(std::string_view& out) {
    std::uint64_t n = 0;
    if (!varint(n) || n > static_cast<std::uint64_t>(end_ - at_)) return false;
    out = std::string_view(reinterpret_cast<const char*>(at_), static_cast<std::size_t>(n));
    at_ += n;
    return true;
  }

 private:
  const std::uint8_t* at_;
  const std::uint8_t* end_;
};

constexpr std::uint32_t wire_varint = 0;
constexpr std::uint32_t wire_length_delimited = 2;

// KeyValue {required string key = 1; required string value = 2;}
bool parse_key_value(std::string_view raw, pb::KeyValue& out) {
  proto_reader r(as_bytes(raw));
  bool has_key = false;
  bool has_value = false;
  while (!r.done()) {
    std::uint64_t tag = 0;
    std::string_view text;
    if (!r.varint(tag) || (tag & 7) != wire_length_delimited || !r.length_delimited(text)) {
      return false;
    }
    if (tag >> 3 == 1) {
      out.set_key(text.data(), text.size());
      has_key = true;
    } else if (tag >> 3 == 2) {
      out.set_value(text.data(), text.size());
      has_value = true;
    } else {
      return false;
    }
  }
  return has_key && has_value;
}

// The fields of SingleMessageMetadata by hand; false on anything it does not expect (unknown
// fields, other wire types, malformed input), which the caller then leaves to protobuf.
bool parse_known_fields(byte_view raw, pb::SingleMessageMetadata& out) {
  proto_reader r(raw);
  bool has_payload_size = false;
  while (!r.done()) {
    std::uint64_t tag = 0;
    if (!r.varint(tag)) return false;
    const std::uint64_t field = tag >> 3;
    const auto type = static_cast<std::uint32_t>(tag & 7);
    std::uint64_t v = 0;
    std::string_view text;
    if (type == wire_varint) {
      if (!r.varint(v)) return false;
      switch (field) {
        case 3:
          out.set_payload_size(static_cast<std::int32_t>(v));
          has_payload_size = true;
          break;
        case 4:
          out.set_compacted_out(v != 0);
          break;
        case 5:
          out.set_event_time(v);
          break;
        case 6:
          out.set_partition_key_b64_encoded(v != 0);
          break;
        case 8:
          out.set_sequence_id(v);
          break;
        case 9:
          out.set_null_value(v != 0);
          break;
        case 10:
          out.set_null_partition_key(v != 0);
          break;
        default:
          return false;
      }
    } else if (type == wire_length_delimited) {
      if (!r.length_delimited(text)) return false;
      switch (field) {
        case 1:
          if (!parse_key_value(text, *out.add_properties())) return false;
          break;
        case 2:
          out.set_partition_key(text.data(), text.size());
          break;
        case 7:
          out.set_ordering_key(text.data(), text.size());
          break;
        default:
          return false;
      }
    } else {
      return false;
    }
  }
  return has_payload_size;
}

}  // namespace

bool parse_single_message_metadata(byte_view raw, pb::SingleMessageMetadata& out) {
  out.Clear();  // keeps the capacity of its strings and repeated fields
  if (parse_known_fields(raw, out)) return true;
  return out.ParseFromArray(raw.data(), static_cast<int>(raw.size()));
}

result<std::span<batch_entry>> decode_batch(byte_view payload, int count,
                                            std::vector<batch_entry>& storage) {
  if (count < 0) return fail(errc::truncated_batch);
  // Each entry needs at least its 4-byte size, so a count larger than that is a lie we can
  // reject before reserving memory for it.
  if (static_cast<std::size_t>(count) > payload.size() / 4) return fail(errc::truncated_batch);
  const auto n = static_cast<std::size_t>(count);
  storage.reserve(n);
  byte_reader r(payload);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t size = 0;
    byte_view raw;
    if (!r.read_u32(size) || !r.read_span(size, raw)) return fail(errc::truncated_batch);
    // Only grows, and only as far as entries really parse: shrinking would destroy metadata
    // objects the next batch can reuse.
    batch_entry& entry = i < storage.size() ? storage[i] : storage.emplace_back();
    if (!parse_single_message_metadata(raw, entry.metadata)) {
      return fail(errc::bad_metadata);
    }
    if (entry.metadata.payload_size() < 0 ||
        !r.read_span(static_cast<std::size_t>(entry.metadata.payload_size()), entry.payload)) {
      return fail(errc::truncated_batch);
    }
  }
  if (r.remaining() != 0) return fail(errc::batch_trailing_bytes);
  return std::span<batch_entry>(storage.data(), n);
}

result<std::vector<batch_entry>> decode_batch(byte_view payload, int count) {
  std::vector<batch_entry> entries;
  if (auto ok = decode_batch(payload, count, entries); !ok) return fail(ok.error());
  return entries;  // exactly `count` long: it started empty
}

void append_to_batch(bytes& out, const pb::SingleMessageMetadata& metadata, byte_view payload) {
  const auto size = static_cast<std::uint32_t>(metadata.ByteSizeLong());
  const std::size_t start = out.size();
  out.resize(start + 4 + size + payload.size());
  store_u32(out.data() + start, size);
  std::uint8_t* at = metadata.SerializeWithCachedSizesToArray(out.data() + start + 4);
  if (!payload.empty()) std::memcpy(at, payload.data(), payload.size());
}

}  // namespace shfn::wire
