#pragma once
// Random (version 4) UUIDs for event ids that have no natural source, such as cron ticks.

#include <string>

namespace shfn::event {

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower-case hex, y one of 8, 9, a, b (RFC 9562). 122
// random bits from a per-thread 64-bit Mersenne Twister seeded once from std::random_device
// (a random_device costs tens of microseconds on some virtual machines; see base/backoff.h).
// Unique, not unpredictable: do not use it as a secret.
std::string uuid_v4();

}  // namespace shfn::event
