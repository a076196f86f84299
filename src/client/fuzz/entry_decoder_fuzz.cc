// libFuzzer target: any byte string, read as a run of frames from a broker, fed to one
// partition consumer's entry decoder, with the application acking or giving back each message
// as the next input byte says. The decoder must never crash or over-read, every permit an entry
// took must be queued or handed back, and dead letters are never queued too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "client/entry_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shfn;
  byte_view input(data, size);
  client::entry_decoder decoder("persistent://public/default/fuzz", 0, 3);
  client::message_queue queue;
  while (!input.empty()) {
    auto decoded = wire::decode_frame(input, 1 << 20);
    if (!decoded || !decoded->has_value()) break;
    input = input.subspan((*decoded)->consumed);
    const wire::frame& f = (*decoded)->value;
    if (f.command.type() != wire::pb::BaseCommand::MESSAGE) {
      decoder.disconnected();
      continue;
    }
    const auto out = decoder.decode(f, queue);
    if (out.queued + out.permits_back != out.charged) std::abort();
    if (static_cast<std::size_t>(out.queued) != queue.size()) std::abort();
    if (static_cast<int>(out.dead_letters.size()) > out.permits_back) std::abort();
    for (const auto& m : out.dead_letters) (void)decoder.acknowledge(m.id);
    const std::uint8_t choices = input.empty() ? 0 : input.front();
    for (int i = 0; !queue.empty(); ++i) {
      const auto& id = queue.front().id;
      if ((choices >> (i % 8)) & 1u) {
        (void)decoder.acknowledge(id);
      } else {
        decoder.give_back(id);
        (void)decoder.acknowledge_cumulative(id);
      }
      queue.pop_front();
    }
  }
  return 0;
}
