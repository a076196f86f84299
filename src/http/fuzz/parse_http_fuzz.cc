// libFuzzer target: any bytes as an HTTP/1.x request head, and as a response fed to the
// response parser in pieces, must yield a request, a response or an error; never a crash, a
// hang or an over-read. The first byte picks the pieces' size, so that every split is tried.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/http.h"
#include "http/response_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shfn;
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 16;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  const std::size_t end = http::find_head_end(input);
  (void)http::parse_request_head(end != std::string_view::npos ? input.substr(0, end) : input);

  http::response_parser parser(http::response_limits{.max_head = 4096, .max_body = 1 << 16});
  for (std::size_t at = 0; at < input.size(); at += piece) {
    auto done = parser.feed(input.substr(at, piece));
    if (!done || *done) return 0;
  }
  (void)parser.finish();
  return 0;
}
