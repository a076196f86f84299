#pragma once
// Text helpers the CloudEvents codecs share: UTF-8 checks, Base64 (RFC 4648, standard alphabet)
// and quoting values for error messages. Internal to src/event.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace shfn::event {

// Whether `s` is well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_utf8(std::string_view s);

// Why `value` is not a CloudEvents String (invalid UTF-8, a control character, a Unicode
// noncharacter), or nullopt when it is one.
std::optional<std::string> string_problem(std::string_view value);

std::string base64_encode(byte_view data);
// Padding is optional; anything outside the alphabet (whitespace included) is refused.
std::optional<bytes> base64_decode(std::string_view text);

// `text` in double quotes for a message: quotes, backslashes and bytes that are not printable
// ASCII or valid UTF-8 escaped, shortened past 60 characters.
std::string quote(std::string_view text);

bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string_view trim(std::string_view s);  // spaces and tabs on both ends

}  // namespace shfn::event
