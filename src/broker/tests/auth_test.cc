#include "broker/auth.h"

#include <gtest/gtest.h>

#include "wire/errc.h"

namespace shfn::broker {
namespace {

constexpr std::int64_t now = 1'800'000'000;

TEST(token_authenticator, accepts_its_own_tokens_and_reads_the_subject) {
  const token_authenticator auth("a secret of some length");
  auto role = auth.verify(auth.sign("shfn-user"), now);
  ASSERT_TRUE(role.has_value());
  EXPECT_EQ(*role, "shfn-user");
  EXPECT_TRUE(auth.verify(auth.sign("later", now + 60), now).has_value());
}

// A token computed independently (Python's hmac and base64, as JWT libraries and Pulsar's
// `tokens create` do) for key "secret", sub "admin": interoperability, not just a round trip.
TEST(token_authenticator, accepts_a_standard_hs256_token) {
  const token_authenticator auth("secret");
  const std::string token =
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.GdYrDf_hp3IHBhv_b91SSCh7N2Lp19bHJXciDzy8C_c";
  EXPECT_EQ(auth.sign("admin"), token);
  auto role = auth.verify(token, now);
  ASSERT_TRUE(role.has_value());
  EXPECT_EQ(*role, "admin");
}

TEST(token_authenticator, refuses_wrong_keys_expired_and_malformed_tokens) {
  const token_authenticator auth("right key");
  const token_authenticator other("wrong key");
  const auto refused = wire::server_error(wire::pb::AuthenticationError);
  EXPECT_EQ(auth.verify(other.sign("x"), now).error(), refused);
  EXPECT_EQ(auth.verify(auth.sign("x", now - 1), now).error(), refused);
  for (const char* bad : {"", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.", "e30.e30.e30"}) {
    EXPECT_FALSE(auth.verify(bad, now).has_value()) << bad;
  }
  // A valid signature over a header that is not HS256 is still refused.
  std::string token = auth.sign("x");
  token[3] ^= 1;
  EXPECT_FALSE(auth.verify(token, now).has_value());
}

}  // namespace
}  // namespace shfn::broker
