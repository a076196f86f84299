#include "wire/frame.h"

#include "wire/crc32c.h"
#include "wire/errc.h"

namespace shfn::wire {

result<checksummed_section> decode_checksummed(byte_view checksummed) {
  byte_reader r(checksummed);
  std::uint32_t metadata_size = 0;
  byte_view raw;
  if (!r.read_u32(metadata_size) || !r.read_span(metadata_size, raw)) {
    return fail(errc::frame_too_small);
  }
  checksummed_section out;
  if (!out.metadata.ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
    return fail(errc::bad_metadata);
  }
  out.payload = r.rest();
  return out;
}

void append_checksummed(bytes& out, const pb::MessageMetadata& metadata, byte_view payload) {
  const auto metadata_size = static_cast<std::uint32_t>(metadata.ByteSizeLong());
  const std::size_t start = out.size();
  out.resize(start + 4 + metadata_size);
  store_u32(out.data() + start, metadata_size);
  metadata.SerializeWithCachedSizesToArray(out.data() + start + 4);
  out.insert(out.end(), payload.begin(), payload.end());
}

namespace {

// Parses the optional broker-entry section and the mandatory checksummed metadata section.
result<void> decode_payload_section(byte_view section, frame& out) {
  byte_reader r(section);
  std::uint16_t magic = 0;
  if (r.peek_u16(magic) && magic == magic_broker_entry_metadata) {
    std::uint32_t size = 0;
    byte_view raw;
    r.read_u16(magic);
    if (!r.read_u32(size) || !r.read_span(size, raw)) return fail(errc::frame_too_small);
    out.broker_entry_metadata.emplace();
    if (!out.broker_entry_metadata->ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
      return fail(errc::bad_metadata);
    }
  }
  std::uint32_t checksum = 0;
  if (!r.read_u16(magic) || !r.read_u32(checksum)) return fail(errc::frame_too_small);
  if (magic != magic_crc32c) return fail(errc::bad_magic);
  if (crc32c(r.rest()) != checksum) return fail(errc::bad_checksum);
  out.checksummed = r.rest();
  auto parts = decode_checksummed(out.checksummed);
  if (!parts) return fail(parts.error());
  out.metadata = std::move(parts->metadata);
  out.payload = parts->payload;
  return {};
}

}  // namespace

result<std::optional<decoded_frame>> decode_frame(byte_view input, std::size_t max_frame_size) {
  byte_reader r(input);
  std::uint32_t total_size = 0;
  if (!r.read_u32(total_size)) return std::nullopt;
  if (total_size > max_frame_size) return fail(errc::frame_too_large);
  if (total_size < 4) return fail(errc::frame_too_small);
  if (r.remaining() < total_size) return std::nullopt;

  byte_view body;
  r.read_span(total_size, body);
  byte_reader b(body);
  std::uint32_t command_size = 0;
  byte_view command;
  b.read_u32(command_size);
  if (!b.read_span(command_size, command)) return fail(errc::frame_too_small);

  decoded_frame result{.consumed = 4 + std::size_t{total_size}};
  if (!result.value.command.ParseFromArray(command.data(), static_cast<int>(command.size()))) {
    return fail(errc::bad_command);
  }
  if (b.remaining() > 0) {
    if (auto ok = decode_payload_section(b.rest(), result.value); !ok) return fail(ok.error());
  }
  return result;
}

void append_command(bytes& out, const pb::BaseCommand& command) {
  const auto command_size = static_cast<std::uint32_t>(command.ByteSizeLong());
  const std::size_t start = out.size();
  out.resize(start + 8 + command_size);
  std::uint8_t* at = out.data() + start;
  store_u32(at, 4 + command_size);
  store_u32(at + 4, command_size);
  command.SerializeWithCachedSizesToArray(at + 8);
}

namespace {

// Grows `out` by a whole payload frame whose checksummed part is `checksummed_size` bytes, writes
// the sizes, the command and the magic, and returns where the checksum goes (the checksummed part
// follows it).
std::uint8_t* begin_payload_frame(bytes& out, const pb::BaseCommand& command,
                                  std::size_t checksummed_size) {
  const auto command_size = static_cast<std::uint32_t>(command.ByteSizeLong());
  const std::size_t section = 6 + checksummed_size;  // magic(2) + checksum(4) + checksummed
  const std::size_t start = out.size();
  out.resize(start + 8 + command_size + section);
  std::uint8_t* at = out.data() + start;
  store_u32(at, static_cast<std::uint32_t>(4 + command_size + section));
  store_u32(at + 4, command_size);
  at = command.SerializeWithCachedSizesToArray(at + 8);
  at[0] = static_cast<std::uint8_t>(magic_crc32c >> 8);
  at[1] = static_cast<std::uint8_t>(magic_crc32c & 0xff);
  return at + 2;
}

}  // namespace

void append_payload_command(bytes& out, const pb::BaseCommand& command,
                            const pb::MessageMetadata& metadata, byte_view payload) {
  const auto metadata_size = static_cast<std::uint32_t>(metadata.ByteSizeLong());
  const std::size_t checked_size = 4 + metadata_size + payload.size();
  std::uint8_t* checksum_at = begin_payload_frame(out, command, checked_size);
  std::uint8_t* checked = checksum_at + 4;
  store_u32(checked, metadata_size);
  std::uint8_t* payload_at = metadata.SerializeWithCachedSizesToArray(checked + 4);
  if (!payload.empty()) std::memcpy(payload_at, payload.data(), payload.size());
  store_u32(checksum_at, crc32c(byte_view(checked, checked_size)));
}

void append_stored_payload_head(bytes& out, const pb::BaseCommand& command, byte_view checksummed) {
  const auto command_size = static_cast<std::uint32_t>(command.ByteSizeLong());
  const std::size_t section = 6 + checksummed.size();  // magic(2) + checksum(4) + checksummed
  const std::size_t start = out.size();
  out.resize(start + 8 + command_size + 6);
  std::uint8_t* at = out.data() + start;
  store_u32(at, static_cast<std::uint32_t>(4 + command_size + section));
  store_u32(at + 4, command_size);
  at = command.SerializeWithCachedSizesToArray(at + 8);
  at[0] = static_cast<std::uint8_t>(magic_crc32c >> 8);
  at[1] = static_cast<std::uint8_t>(magic_crc32c & 0xff);
  store_u32(at + 2, crc32c(checksummed));
}

void append_stored_payload_command(bytes& out, const pb::BaseCommand& command,
                                   byte_view checksummed) {
  append_stored_payload_head(out, command, checksummed);
  // insert, not resize and copy: the section is written once, never zero-filled first.
  out.insert(out.end(), checksummed.begin(), checksummed.end());
}

}  // namespace shfn::wire
