#pragma once
// Pulsar frame codec, sans-I/O: bytes in, commands out, and back. No sockets, no clocks.
//
//   simple:  [total_size u32][command_size u32][BaseCommand]
//   payload: simple + [0x0e02 u16][size u32][BrokerEntryMetadata]   (optional)
//                   + [0x0e01 u16][crc32c u32][metadata_size u32][MessageMetadata][payload]
//
// The checksum covers metadata_size, metadata and payload. All integers are big-endian.

#include <cstddef>
#include <optional>

#include "base/bytes.h"
#include "base/result.h"
#include "pulsar_api.pb.h"

namespace shfn::wire {

inline constexpr std::uint16_t magic_crc32c = 0x0e01;
inline constexpr std::uint16_t magic_broker_entry_metadata = 0x0e02;
inline constexpr std::size_t default_max_message_size = 5 * 1024 * 1024;
// Pulsar allows this much beyond the max message size for the command and metadata.
inline constexpr std::size_t frame_overhead = 10 * 1024;

// A decoded frame. `payload` points into the decoder's input and lives as long as that buffer.
struct frame {
  pb::BaseCommand command;
  std::optional<pb::MessageMetadata> metadata;
  std::optional<pb::BrokerEntryMetadata> broker_entry_metadata;
  byte_view payload;
  // [metadata_size][metadata][payload]: the span the checksum covers. A broker stores it as the
  // entry and sends it on unchanged (append_stored_payload_command).
  byte_view checksummed;
};

struct decoded_frame {
  frame value;
  std::size_t consumed = 0;
};

// Decodes the frame at the head of `input`. nullopt means "need more bytes"; an error means the
// stream is corrupt and the connection must be closed.
result<std::optional<decoded_frame>> decode_frame(
    byte_view input, std::size_t max_frame_size = default_max_message_size + frame_overhead);

void append_command(bytes& out, const pb::BaseCommand& command);
void append_payload_command(bytes& out, const pb::BaseCommand& command,
                            const pb::MessageMetadata& metadata, byte_view payload);

// A payload command whose checksummed section (see frame::checksummed) is already encoded.
void append_stored_payload_command(bytes& out, const pb::BaseCommand& command,
                                   byte_view checksummed);

// The same frame without its checksummed section: sizes, command, magic and checksum. The caller
// sends `checksummed` right after these bytes (a gathered write), so a large entry is not copied.
void append_stored_payload_head(bytes& out, const pb::BaseCommand& command, byte_view checksummed);

// A checksummed section taken apart (see frame::checksummed): what a broker stores as an entry.
struct checksummed_section {
  pb::MessageMetadata metadata;
  byte_view payload;  // points into the section
};
// errc::frame_too_small when the metadata's size runs past the section, errc::bad_metadata when
// the metadata does not parse.
result<checksummed_section> decode_checksummed(byte_view checksummed);
// [metadata size][metadata][payload], the section decode_checksummed takes apart.
void append_checksummed(bytes& out, const pb::MessageMetadata& metadata, byte_view payload);

inline bytes encode_command(const pb::BaseCommand& command) {
  bytes out;
  append_command(out, command);
  return out;
}

}  // namespace shfn::wire
