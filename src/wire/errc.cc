#include "wire/errc.h"

#include <string>

namespace shfn::wire {
namespace {

struct category final : std::error_category {
  const char* name() const noexcept override { return "pulsar-wire"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::frame_too_large:
        return "frame larger than the maximum frame size";
      case errc::frame_too_small:
        return "frame too small for its declared command";
      case errc::bad_command:
        return "command does not parse as a Pulsar BaseCommand";
      case errc::bad_magic:
        return "payload section has an unknown magic number";
      case errc::bad_checksum:
        return "payload checksum (CRC32C) mismatch";
      case errc::bad_metadata:
        return "message metadata is missing or does not parse";
      case errc::truncated_batch:
        return "batch holds fewer messages than its count says";
      case errc::batch_trailing_bytes:
        return "batch holds more bytes than its count says";
      case errc::bad_compressed_data:
        return "compressed payload does not decompress";
      case errc::unknown_compression:
        return "unknown compression type";
      case errc::decompressed_too_large:
        return "declared uncompressed size exceeds the limit";
      case errc::bad_topic_name:
        return "invalid topic name";
    }
    return "unknown wire error";
  }
};

struct server_errors final : std::error_category {
  const char* name() const noexcept override { return "pulsar-broker"; }
  std::string message(int value) const override {
    const auto& name = pb::ServerError_Name(static_cast<pb::ServerError>(value));
    return name.empty() ? "broker error " + std::to_string(value) : "broker error " + name;
  }
};

}  // namespace

const std::error_category& wire_category() {
  static const category instance;
  return instance;
}

const std::error_category& server_category() {
  static const server_errors instance;
  return instance;
}

}  // namespace shfn::wire
