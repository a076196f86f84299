#include "client/service_url.h"

#include <gtest/gtest.h>

namespace shfn::client {
namespace {

TEST(service_url, plain_and_tls_with_default_ports) {
  auto plain = parse_service_url("pulsar://broker");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->front().port, "6650");
  EXPECT_FALSE(plain->front().tls);
  auto tls = parse_service_url("pulsar+ssl://broker:7000/");
  ASSERT_TRUE(tls.has_value());
  EXPECT_EQ(tls->front().port, "7000");
  EXPECT_TRUE(tls->front().tls);
}

TEST(service_url, several_hosts) {
  auto many = parse_service_url("pulsar://a:1,b:2");
  ASSERT_TRUE(many.has_value());
  ASSERT_EQ(many->size(), 2u);
  EXPECT_EQ((*many)[1].host, "b");
}

TEST(service_url, malformed_urls_are_refused) {
  for (const char* bad :
       {"http://a:1", "pulsar://", "pulsar://a:notaport", "pulsar://a:70000", "a:1"}) {
    EXPECT_FALSE(parse_service_url(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace shfn::client
