#include "storage/faults.h"

#include <atomic>
#include <cerrno>

namespace shfn::storage::faults {
namespace {

constexpr std::uint64_t never = UINT64_MAX;

std::atomic<bool> active{false};
std::atomic<std::uint64_t> seen{0};
std::atomic<std::uint64_t> fail_at{never};
std::atomic<int> fail_with{0};
std::atomic<bool> stays_failed{false};

}  // namespace

void arm(std::uint64_t nth, int error, bool sticky) {
  seen = 0;
  fail_at = nth;
  fail_with = error;
  stays_failed = sticky;
  active = true;
}

void count() {
  arm(never, 0, false);
}

void disarm() {
  active = false;
  fail_at = never;
}

std::uint64_t writes_seen() {
  return seen;
}

int next_write(bool frees_space) {
  if (!active.load(std::memory_order_relaxed)) return 0;
  const std::uint64_t n = seen++;
  const std::uint64_t at = fail_at;
  const bool fails = n == at || (stays_failed && at != never && n > at);
  if (!fails || (frees_space && fail_with == ENOSPC)) return 0;
  return fail_with;
}

}  // namespace shfn::storage::faults
