#pragma once
// What an accept loop does when accept() fails: mostly the process is out of file descriptors
// (EMFILE), a state that lasts until connections close. Retrying at once spins a core and
// floods the log with one line per try; so each failure pauses the loop, longer while the burst
// goes on (10 ms doubling to 1 s), and a burst is logged twice: when it starts and when accepts
// succeed again, with how many failed meanwhile.
//
// Owned by one accept loop, on its executor.

#include <chrono>
#include <string>
#include <system_error>

#include "base/backoff.h"
#include "base/log.h"

namespace shfn {

class accept_failures {
 public:
  explicit accept_failures(std::string listener) : listener_(std::move(listener)) {}

  // The pause before the next accept.
  std::chrono::milliseconds failed(std::error_code ec) {
    if (failures_++ == 0) {
      spdlog::warn("{}: accept failed: {}; pausing new connections until it succeeds again",
                   listener_, ec.message());
    }
    return pause_.next();
  }

  void succeeded() {
    if (failures_ == 0) return;
    // At the level of the line that opened the burst, so the two are seen together.
    spdlog::warn("{}: accepting connections again after {} failed accepts", listener_, failures_);
    failures_ = 0;
    pause_.reset();
  }

  int failures() const { return failures_; }

 private:
  std::string listener_;
  int failures_ = 0;  // in the current burst
  backoff pause_{std::chrono::milliseconds(10), std::chrono::seconds(1)};
};

}  // namespace shfn
