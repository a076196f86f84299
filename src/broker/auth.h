#pragma once
// Token authentication as Apache Pulsar does it with a secret key: clients send a JSON Web Token
// signed with HMAC-SHA256 (auth method "token" in CONNECT, or "Authorization: Bearer" on the
// admin API); the broker checks the signature and the expiry and takes `sub` as the role.
//
// The key file holds the raw key bytes, as Pulsar's `tokenSecretKey=file://…` reads them (what
// `pulsar tokens create-secret-key --output FILE` writes), so the same key and tokens work
// against both brokers.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace shfn::broker {

class token_authenticator {
 public:
  static result<token_authenticator> from_secret_file(const std::filesystem::path& file);
  explicit token_authenticator(std::string secret) : secret_(std::move(secret)) {}

  // The token's subject when its signature is ours and it has not expired at `now_seconds`;
  // otherwise an AuthenticationError saying why.
  result<std::string> verify(std::string_view token, std::int64_t now_seconds) const;
  // An HS256 token for `subject` (for tests and tooling), expiring at `expires` if given.
  std::string sign(std::string_view subject, std::optional<std::int64_t> expires = {}) const;

 private:
  std::string secret_;
};

}  // namespace shfn::broker
