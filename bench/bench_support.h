#pragma once
// What function_bench and flow_bench share: the numbered payloads they send and check, timing,
// percentiles, the "RESULT name value" lines their scripts read, and a client for a URL (with
// $PULSAR_TOKEN when set).
//
// Payloads: "<seq, 10 digits> <stamp, 19 digits> " padded with 'x' to the size asked (no newline,
// so the `lines` framing carries them).

#include <fmt/format.h>

#include <asio/any_io_executor.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"
#include "client/client.h"

namespace shfn::bench {

inline constexpr std::size_t header_bytes = 31;  // "%010u %019d "

inline double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

inline std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
      .count();
}

inline bytes make_payload(std::uint64_t seq, std::int64_t stamp_ns, std::size_t size) {
  std::string text = fmt::format("{:010} {:019} ", seq, stamp_ns);
  if (text.size() < size) text.append(size - text.size(), 'x');
  return bytes(text.begin(), text.end());
}

// The sequence number and stamp of a payload made by make_payload; nullopt for anything else.
inline std::optional<std::pair<std::uint64_t, std::int64_t>> parse_payload(const bytes& p) {
  if (p.size() < header_bytes) return std::nullopt;
  const char* s = reinterpret_cast<const char*>(p.data());
  std::uint64_t seq = 0;
  std::int64_t stamp = 0;
  if (std::from_chars(s, s + 10, seq).ec != std::errc{}) return std::nullopt;
  if (std::from_chars(s + 11, s + 30, stamp).ec != std::errc{}) return std::nullopt;
  return std::pair{seq, stamp};
}

inline double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1))];
}

inline void result_line(std::string_view name, double value) {
  fmt::print("RESULT {} {:.3f}\n", name, value);
}

inline result<std::unique_ptr<client::client>> make_client(const std::string& url,
                                                           asio::any_io_executor ex) {
  const char* token = std::getenv("PULSAR_TOKEN");
  const client::client_options options{.service_url = url, .auth_token = token ? token : ""};
  return client::client::create(std::move(ex), options);
}

}  // namespace shfn::bench
