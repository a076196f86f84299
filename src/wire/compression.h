#pragma once
// Payload compression in Pulsar's formats: LZ4 raw block, zlib stream, zstd frame, raw snappy.

#include <optional>

#include "base/bytes.h"
#include "base/result.h"
#include "pulsar_api.pb.h"

namespace shfn::wire {

result<bytes> compress(pb::CompressionType type, byte_view input);

// `uncompressed_size` comes from the message metadata; it is checked against `max_size` before
// anything is allocated, so a lying header cannot exhaust memory.
result<bytes> decompress(pb::CompressionType type, byte_view input, std::size_t uncompressed_size,
                         std::size_t max_size = 64 * 1024 * 1024);

// "lz4" -> LZ4 etc.; nullopt for an unknown name.
std::optional<pb::CompressionType> compression_from_name(std::string_view name);

}  // namespace shfn::wire
