#include "wire/batch.h"

#include "wire/errc.h"

namespace shfn::wire {

result<std::vector<batch_entry>> decode_batch(byte_view payload, int count) {
  if (count < 0) return fail(errc::truncated_batch);
  std::vector<batch_entry> entries;
  // Each entry needs at least its 4-byte size, so a count larger than that is a lie we can
  // reject before reserving memory for it.
  if (static_cast<std::size_t>(count) > payload.size() / 4) return fail(errc::truncated_batch);
  entries.reserve(static_cast<std::size_t>(count));
  byte_reader r(payload);
  for (int i = 0; i < count; ++i) {
    std::uint32_t size = 0;
    byte_view raw;
    if (!r.read_u32(size) || !r.read_span(size, raw)) return fail(errc::truncated_batch);
    batch_entry& entry = entries.emplace_back();
    if (!entry.metadata.ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
      return fail(errc::bad_metadata);
    }
    if (entry.metadata.payload_size() < 0 ||
        !r.read_span(static_cast<std::size_t>(entry.metadata.payload_size()), entry.payload)) {
      return fail(errc::truncated_batch);
    }
  }
  if (r.remaining() != 0) return fail(errc::batch_trailing_bytes);
  return entries;
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
