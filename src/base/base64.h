#pragma once
// Base64 with the standard alphabet and padding (RFC 4648, section 4).

#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace shfn {

std::string base64_encode(byte_view data);
// Padding is optional; anything outside the alphabet (whitespace included) is refused, and so
// are leftover bits that are not zero, so that one text means one byte string.
std::optional<bytes> base64_decode(std::string_view text);

}  // namespace shfn
