#pragma once
// What the tests know about the broker under test, from the environment that scripts/test.sh
// exports after starting it: PULSAR_URL, PULSAR_HTTP, PULSAR_TOKEN, PULSAR_TLS_URL, PULSAR_CA.

#include <cstdlib>
#include <string>

namespace shfn::testing {

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Sends one HTTP/1.0 request to the broker's admin API and returns the status code (0 when the
// request could not be made). Enough for creating partitioned topics in tests.
int admin_request(const std::string& method, const std::string& path, const std::string& body);

// A topic name no other test (or earlier run) has used.
std::string unique_topic(const std::string& stem);

}  // namespace shfn::testing
