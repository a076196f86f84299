#pragma once
// Small string helpers shared by parsers (topic names, HTTP paths).

#include <string_view>
#include <vector>

namespace shfn {

// Splits on every `sep`; empty fields are kept ("a//b" -> "a", "", "b").
inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

}  // namespace shfn
