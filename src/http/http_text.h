#pragma once
// Internal: the character classes and small text steps HTTP/1.1 (RFC 9110, 9112) parsing needs,
// shared by the request parser, the response parser and the client.

#include <cctype>
#include <string>
#include <string_view>

#include "base/strings.h"

namespace shfn::http::http_text {

// A token character: what method and header names are made of.
inline bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A control character other than horizontal tab: never allowed in a field value.
inline bool is_control(char c) {
  return (static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f;
}

// Header names are case-insensitive; they are kept lower-cased.
using shfn::trim;  // optional whitespace around a field value
inline std::string lower(std::string_view s) {
  return ascii_lower(s);
}

}  // namespace shfn::http::http_text
