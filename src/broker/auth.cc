#include "broker/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/log.h"
#include "base/strings.h"
#include "wire/errc.h"

namespace shfn::broker {
namespace {

// JSON Web Tokens: the URL-safe alphabet without padding. Leftover bits are not refused, as
// Pulsar's own token tool never sets them but other signers might.
std::string base64url_encode(std::string_view in) {
  return base64_encode(as_bytes(in), {.alphabet = base64_alphabet::url, .padding = false});
}

std::optional<std::string> base64url_decode(std::string_view in) {
  auto decoded =
      base64_decode(in, {.alphabet = base64_alphabet::url, .ignore_leftover_bits = true});
  if (!decoded) return std::nullopt;
  return std::string(as_chars(*decoded));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &size);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

unexpected<std::error_code> refused(std::string_view why) {
  spdlog::info("authentication refused: {}", why);
  return fail(wire::server_error(wire::pb::AuthenticationError));
}

}  // namespace

result<token_authenticator> token_authenticator::from_secret_file(
    const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(std::make_error_code(std::errc::no_such_file_or_directory));
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (secret.empty()) return fail(std::make_error_code(std::errc::invalid_argument));
  return token_authenticator(std::move(secret));
}

result<std::string> token_authenticator::verify(std::string_view token,
                                                std::int64_t now_seconds) const {
  const auto parts = split(token, '.');
  if (parts.size() != 3) return refused("not a JSON Web Token");
  auto header = base64url_decode(parts[0]);
  auto payload = base64url_decode(parts[1]);
  auto signature = base64url_decode(parts[2]);
  if (!header || !payload || !signature) return refused("token is not base64url");
  const std::string expected =
      hmac_sha256(secret_, token.substr(0, parts[0].size() + 1 + parts[1].size()));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return refused("token signature does not match the secret key");
  }
  const auto head = nlohmann::json::parse(*header, nullptr, /*allow_exceptions=*/false);
  const auto claims = nlohmann::json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  if (!head.is_object() || head.value("alg", "") != "HS256" || !claims.is_object()) {
    return refused("token is not an HS256 JWT");
  }
  if (claims.contains("exp") && claims["exp"].is_number() &&
      claims["exp"].get<std::int64_t>() <= now_seconds) {
    return refused("token expired");
  }
  if (!claims.contains("sub") || !claims["sub"].is_string()) return refused("token has no subject");
  return claims["sub"].get<std::string>();
}

std::string token_authenticator::sign(std::string_view subject,
                                      std::optional<std::int64_t> expires) const {
  nlohmann::json claims{{"sub", subject}};
  if (expires) claims["exp"] = *expires;
  const std::string unsigned_token =
      base64url_encode(R"({"alg":"HS256"})") + "." + base64url_encode(claims.dump());
  return unsigned_token + "." + base64url_encode(hmac_sha256(secret_, unsigned_token));
}

}  // namespace shfn::broker
