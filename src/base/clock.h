#pragma once
// The wall clock as Pulsar counts it: since the Unix epoch, in milliseconds (publish and event
// times, delayed delivery) or seconds (token expiry). One place, so that every part reads the
// same clock the same way.

#include <chrono>
#include <cstdint>

namespace shfn {

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace shfn
