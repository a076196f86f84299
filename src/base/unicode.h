#pragma once
// UTF-8, checked strictly: no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629).
// One implementation for every module that must tell text from bytes (CloudEvents, JSON output,
// Kubernetes ConfigMaps).

#include <cstddef>
#include <string_view>

#include "base/bytes.h"

namespace shfn {

// The length of the UTF-8 sequence at s[i] and its code point in `cp`, or 0 when it is
// malformed.
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp);
// Whether `s` is well-formed UTF-8.
bool is_utf8(std::string_view s);
inline bool is_utf8(byte_view b) {
  return is_utf8(as_chars(b));
}

}  // namespace shfn
