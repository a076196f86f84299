#pragma once
// Exponential back-off with full jitter, for reconnects and retries.

#include <algorithm>
#include <chrono>
#include <random>

namespace shfn {

class backoff {
 public:
  using duration = std::chrono::milliseconds;

  backoff(duration initial, duration max) : initial_(initial), max_(max), next_(initial) {}

  // The delay before the next attempt; doubles up to max, each draw jittered in [next/2, next].
  duration next() {
    duration current = next_;
    next_ = std::min(max_, next_ * 2);
    std::uniform_int_distribution<long> jitter(current.count() / 2, current.count());
    return duration(jitter(generator()));
  }
  void reset() { next_ = initial_; }

 private:
  duration initial_;
  duration max_;
  duration next_;

  // One per thread, seeded once: a std::random_device costs tens of microseconds on some
  // virtual machines, and a backoff is made for every send that might be retried.
  static std::minstd_rand& generator() {
    thread_local std::minstd_rand rng{std::random_device{}()};
    return rng;
  }
};

}  // namespace shfn
