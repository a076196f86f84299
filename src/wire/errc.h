#pragma once
// Errors of the sans-I/O Pulsar codec. Every malformed input maps to one of these; none crashes.

#include <system_error>

#include "pulsar_api.pb.h"

namespace shfn::wire {

enum class errc {
  frame_too_large = 1,
  frame_too_small,
  bad_command,
  bad_magic,
  bad_checksum,
  bad_metadata,
  truncated_batch,
  batch_trailing_bytes,
  bad_compressed_data,
  unknown_compression,
  decompressed_too_large,
  bad_topic_name,
};

const std::error_category& wire_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), wire_category()};
}

// The protocol's ServerError codes as a std::error_code category: how a broker's refusal reaches
// a client caller, and how the embedded broker's components report one to be sent back.
const std::error_category& server_category();
inline std::error_code server_error(pb::ServerError e) {
  return {static_cast<int>(e), server_category()};
}

}  // namespace shfn::wire

template <>
struct std::is_error_code_enum<shfn::wire::errc> : std::true_type {};
