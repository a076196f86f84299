// The URL the broker hands out in lookups and its ready line: one every client can parse.

#include "broker/context.h"

#include <gtest/gtest.h>

namespace shfn::broker {
namespace {

asio::ip::tcp::endpoint at(const char* address, unsigned short port) {
  return {asio::ip::make_address(address), port};
}

TEST(pulsar_url, ipv4_as_it_is) {
  EXPECT_EQ(pulsar_url(at("127.0.0.1", 6650)), "pulsar://127.0.0.1:6650");
}

TEST(pulsar_url, ipv6_in_brackets) {
  EXPECT_EQ(pulsar_url(at("::1", 6650)), "pulsar://[::1]:6650");
}

TEST(pulsar_url, ipv4_seen_through_a_dual_stack_socket_as_ipv4) {
  EXPECT_EQ(pulsar_url(at("::ffff:127.0.0.1", 6650)), "pulsar://127.0.0.1:6650");
}

}  // namespace
}  // namespace shfn::broker
