#pragma once
// Internal: the character classes and small text steps HTTP/1.1 (RFC 9110, 9112) parsing needs,
// shared by the request parser, the response parser and the client. Case folding and trimming
// are base/strings.h's (header names are kept ascii_lower-cased).

#include <cctype>
#include <string_view>

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

}  // namespace shfn::http::http_text
