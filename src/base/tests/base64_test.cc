#include "base/base64.h"

#include <gtest/gtest.h>

namespace shfn {
namespace {

bytes of(std::string_view s) {
  return bytes(s.begin(), s.end());
}

std::string encoded(std::string_view s, const base64_encode_options& options = {}) {
  return base64_encode(of(s), options);
}

// RFC 4648, section 10.
TEST(base64, test_vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, text] : vectors) {
    EXPECT_EQ(encoded(plain), text);
    EXPECT_EQ(base64_decode(text), of(plain)) << text;
  }
}

TEST(base64, url_alphabet_without_padding) {
  const bytes data = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64_encode(data), "+/+/");
  EXPECT_EQ(base64_encode(data, {.alphabet = base64_alphabet::url}), "-_-_");
  EXPECT_EQ(encoded("f", {.alphabet = base64_alphabet::url, .padding = false}), "Zg");
  auto decoded = base64_decode("-_-_", {.alphabet = base64_alphabet::url});
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, data);
  EXPECT_FALSE(base64_decode("-_-_"));
  EXPECT_FALSE(base64_decode("+/+/", {.alphabet = base64_alphabet::url}));
}

TEST(base64, strict_by_default) {
  EXPECT_EQ(base64_decode("Zg"), of("f"));  // padding is optional...
  EXPECT_FALSE(base64_decode("Zg="));       // ...but not partial
  EXPECT_FALSE(base64_decode("Z"));         // no byte string has 4n+1 characters
  EXPECT_FALSE(base64_decode("Zm9v\n"));
  EXPECT_FALSE(base64_decode("Zh=="));  // leftover bits set: "Zg==" is the one text of "f"
}

base64_error error_of(std::string_view text, const base64_decode_options& options = {}) {
  auto decoded = base64_decode(text, options);
  EXPECT_FALSE(decoded) << text;
  return decoded ? base64_error{} : decoded.error();
}

TEST(base64, an_error_says_where) {
  auto e = error_of("Zm9v%mFy");
  EXPECT_EQ(e.what, base64_error::kind::character);
  EXPECT_EQ(e.offset, 4u);
  e = error_of("Zg==Zg==");  // padding in the middle
  EXPECT_EQ(e.what, base64_error::kind::character);
  EXPECT_EQ(e.offset, 2u);
  e = error_of("Z===");  // at most two '=': the first is out of place
  EXPECT_EQ(e.what, base64_error::kind::character);
  EXPECT_EQ(e.offset, 1u);
  e = error_of("Zm9vY");
  EXPECT_EQ(e.what, base64_error::kind::length);
  EXPECT_EQ(e.characters, 5u);
  e = error_of("Zm9vZh");
  EXPECT_EQ(e.what, base64_error::kind::leftover_bits);
  EXPECT_EQ(e.offset, 5u);
}

// Knative's dataBase64, as Go's base64.StdEncoding reads it, from a YAML scalar folded over lines.
TEST(base64, relaxed_rules_and_offsets_in_the_text_as_given) {
  const base64_decode_options knative{
      .require_padding = true, .skip_whitespace = true, .ignore_leftover_bits = true};
  EXPECT_EQ(base64_decode("Zm9v YmFy\n Zg= =", knative), of("foobarf"));
  EXPECT_EQ(base64_decode("Zh==", knative), of("f"));
  auto e = error_of("Zm9v Ym%y", knative);
  EXPECT_EQ(e.what, base64_error::kind::character);
  EXPECT_EQ(e.offset, 7u);  // whitespace counts in the offset
  e = error_of("Zm9v Zg", knative);
  EXPECT_EQ(e.what, base64_error::kind::length);
  EXPECT_EQ(e.characters, 6u);  // whitespace does not count in the length
  e = error_of("Zm9v\nZm9");  // without skip_whitespace, a line break is a character like any other
  EXPECT_EQ(e.what, base64_error::kind::character);
  EXPECT_EQ(e.offset, 4u);
}

}  // namespace
}  // namespace shfn
