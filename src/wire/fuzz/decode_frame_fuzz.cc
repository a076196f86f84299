// libFuzzer target: any byte string fed to the frame decoder, then to the batch decoder and the
// decompressors, must yield a frame or an error; never a crash, a hang or an over-read. The same
// bytes as a batch message's metadata must parse exactly as protobuf parses them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/batch.h"
#include "wire/compression.h"
#include "wire/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shfn;
  byte_view input(data, size);
  {
    wire::pb::SingleMessageMetadata fast;
    wire::pb::SingleMessageMetadata reference;
    const bool parsed = wire::parse_single_message_metadata(input, fast);
    if (parsed != reference.ParseFromArray(data, static_cast<int>(size))) std::abort();
    if (parsed && fast.SerializeAsString() != reference.SerializeAsString()) std::abort();
  }
  while (!input.empty()) {
    auto decoded = wire::decode_frame(input, 1 << 20);
    if (!decoded || !decoded->has_value()) break;
    const wire::frame& f = (*decoded)->value;
    if (f.metadata) {
      auto body = wire::decompress(f.metadata->compression(), f.payload,
                                   f.metadata->uncompressed_size(), 1 << 20);
      if (body && f.metadata->has_num_messages_in_batch()) {
        (void)wire::decode_batch(*body, f.metadata->num_messages_in_batch());
      }
    }
    input = input.subspan((*decoded)->consumed);
  }
  return 0;
}
