#pragma once
// Lets a suite written against "the broker in the environment" (support/broker_env.h) run
// against the embedded broker instead: when SHFN_EMBEDDED_BROKER=1, a gtest environment starts
// one in-process on a free port with a fresh data directory, and points PULSAR_URL at it for
// the whole run. CTest registers such suites twice, once per broker.

namespace shfn::testing {

// Call from a test binary's static initialisation (see SHFN_EMBEDDED_BROKER_ENVIRONMENT).
bool register_embedded_broker_environment();

}  // namespace shfn::testing

#define SHFN_EMBEDDED_BROKER_ENVIRONMENT                  \
  [[maybe_unused]] static const bool shfn_embedded_env_ = \
      shfn::testing::register_embedded_broker_environment()
