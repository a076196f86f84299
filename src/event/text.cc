#include "event/text.h"

#include <algorithm>

#include "base/unicode.h"

namespace shfn::event {
namespace {

bool is_noncharacter(char32_t cp) {
  return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

std::string code_point_name(char32_t cp) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = "U+";
  const int digits = cp > 0xFFFF ? (cp > 0xFFFFF ? 6 : 5) : 4;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += hex[(cp >> shift) & 0xF];
  return out;
}

}  // namespace

std::optional<std::string> string_problem(std::string_view value) {
  // Printable ASCII, which nearly every attribute is, needs no decoding: every stage of a flow
  // checks every attribute of every event it reads.
  const auto printable = [](char c) { return c >= 0x20 && c < 0x7F; };
  if (std::all_of(value.begin(), value.end(), printable)) return std::nullopt;
  char32_t cp = 0;
  for (std::size_t i = 0; i < value.size();) {
    const auto len = decode_utf8(value, i, cp);
    if (len == 0) return "is not valid UTF-8";
    if (cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F)) {
      return "contains the control character " + code_point_name(cp);
    }
    if (is_noncharacter(cp)) return "contains the Unicode noncharacter " + code_point_name(cp);
    i += len;
  }
  return std::nullopt;
}

std::string quote(std::string_view text) {
  constexpr std::size_t max_chars = 60;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  std::size_t chars = 0;
  char32_t cp = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (chars == max_chars) {
      out += "...";
      break;
    }
    ++chars;
    const auto c = static_cast<unsigned char>(text[i]);
    const auto len = decode_utf8(text, i, cp);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (len == 0 || c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else {
      out.append(text.substr(i, len));
      i += len;
      continue;
    }
    ++i;
  }
  out += '"';
  return out;
}

}  // namespace shfn::event
