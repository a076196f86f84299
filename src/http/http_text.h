#pragma once
// Internal: the character classes and small text steps HTTP/1.1 (RFC 9110, 9112) parsing needs,
// shared by the request parser, the response parser and the client.

#include <cctype>
#include <string>
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

// Header names are case-insensitive; they are kept lower-cased.
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optional whitespace around a field value.
inline std::string_view trim(std::string_view s, std::string_view blanks = " \t") {
  const auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

}  // namespace shfn::http::http_text
