#include "k8s/yaml_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace shfn::k8s::yaml {

namespace {

// The code point starting at s[i] (advancing i past it), or -1 for an invalid sequence (i then
// moves one byte on).
int decode(std::string_view s, std::size_t& i) {
  const unsigned lead = static_cast<unsigned char>(s[i]);
  if (lead < 0x80) {
    ++i;
    return static_cast<int>(lead);
  }
  const int n = (lead >> 5) == 0x6 ? 1 : (lead >> 4) == 0xE ? 2 : (lead >> 3) == 0x1E ? 3 : -1;
  if (n < 0 || i + static_cast<std::size_t>(n) >= s.size()) {
    ++i;
    return -1;
  }
  int cp = static_cast<int>(lead & (0x3Fu >> n));
  for (int k = 1; k <= n; ++k) {
    const unsigned c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((c & 0xC0) != 0x80) {
      ++i;
      return -1;
    }
    cp = (cp << 6) | static_cast<int>(c & 0x3F);
  }
  // Overlong forms, surrogates and values past Unicode are not UTF-8.
  static constexpr std::array<int, 4> min = {0, 0x80, 0x800, 0x10000};
  if (cp < min[static_cast<std::size_t>(n)] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    ++i;
    return -1;
  }
  i += static_cast<std::size_t>(n) + 1;
  return cp;
}

// YAML's printable set, less what YAML 1.1 reads as a line break (NEL, LS, PS) and the byte
// order mark: what a block scalar may hold as is.
bool printable(int cp) {
  if (cp == '\t' || cp == '\n') return true;
  if (cp < 0x20 || cp == 0x7F) return false;
  if (cp < 0x7F) return true;
  if (cp <= 0x9F || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF) return false;
  if (cp >= 0xD800 && cp <= 0xDFFF) return false;
  return cp != 0xFFFE && cp != 0xFFFF;
}

bool bool_or_null_word(std::string_view s) {
  static constexpr std::string_view words[] = {"y",     "n",  "yes", "no",   "true",
                                               "false", "on", "off", "null", "~"};
  std::string lower(s);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(std::begin(words), std::end(words), lower) != std::end(words);
}

std::string spaces(int n) {
  return std::string(static_cast<std::size_t>(n), ' ');
}

std::vector<std::string_view> lines_of(std::string_view s) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < s.size()) {
    auto end = s.find('\n', start);
    if (end == std::string_view::npos) end = s.size();
    lines.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// `|`, `|-` or `|+` (no, one or several final line breaks), with an indentation indicator when
// the first line with content starts with white space, which would otherwise be taken for
// indentation. Content lines are indented by `indent` + 2.
std::string literal_block(std::string_view s, int indent) {
  std::string out = "|";
  for (auto line : lines_of(s)) {
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') out += "2";
    break;
  }
  std::size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
  out += trailing == 0 ? "-" : trailing == 1 ? "" : "+";
  out += '\n';
  for (auto line : lines_of(s)) {
    if (!line.empty()) {
      out += spaces(indent + 2);
      out += line;
    }
    out += '\n';
  }
  out.pop_back();  // the caller ends the line
  return out;
}

std::string scalar_text(std::string_view s, int indent, bool allow_block) {
  if (plain_safe(s)) return std::string(s);
  if (allow_block && literal_safe(s)) return literal_block(s, indent);
  return double_quoted(s);
}

}  // namespace

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();)
    if (decode(s, i) < 0) return false;
  return true;
}

bool plain_safe(std::string_view s) {
  if (s.empty() || bool_or_null_word(s) || s.back() == ':') return false;
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  // A letter or '/' first keeps numbers, dates and YAML's indicators out; "--flag" is fine.
  const bool dashes =
      s.size() >= 2 && s[0] == '-' && (s[1] == '-' || letter(s[1])) && !s.starts_with("---");
  if (!letter(s[0]) && s[0] != '/' && !dashes) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' || c == ':' ||
           c == '-';
  });
}

bool literal_safe(std::string_view s) {
  if (s.find('\n') == std::string_view::npos) return false;
  if (s.find_first_not_of('\n') == std::string_view::npos) return false;
  for (std::size_t i = 0; i < s.size();) {
    const int cp = decode(s, i);
    if (cp < 0 || !printable(cp)) return false;
  }
  return true;
}

std::string double_quoted(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t start = i;
    const int cp = decode(s, i);
    switch (cp) {
      case -1:
        out += "\xEF\xBF\xBD";
        continue;  // U+FFFD
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case 0:
        out += "\\0";
        continue;
      default:
        break;
    }
    if (printable(cp)) {
      out += s.substr(start, i - start);
    } else if (cp <= 0xFF) {
      out += fmt::format("\\x{:02x}", cp);
    } else {
      out += fmt::format("\\u{:04x}", cp);
    }
  }
  out += '"';
  return out;
}

node& node::add(std::string key, node value) {
  entries_.emplace_back(std::move(key), std::move(value));
  return *this;
}

node& node::push(node value) {
  items_.push_back(std::move(value));
  return *this;
}

node& node::comment(std::string text) {
  comment_ = std::move(text);
  return *this;
}

void node::write_value(std::string& out, int indent) const {
  switch (kind_) {
    case kind::map:
      if (entries_.empty()) {
        out += " {}\n";
      } else {
        out += '\n';
        write_map(out, indent + 2);
      }
      return;
    case kind::seq:
      if (items_.empty()) {
        out += " []\n";
      } else {
        out += '\n';
        write_seq(out, indent);  // kubectl's style: "- " at the key's indentation
      }
      return;
    case kind::string:
      out += ' ';
      out += scalar_text(text_, indent, true);
      break;
    case kind::scalar:
      out += ' ';
      out += text_;
      break;
  }
  if (!comment_.empty()) out += "  # " + comment_;
  out += '\n';
}

void node::write_map(std::string& out, int indent) const {
  for (const auto& [key, value] : entries_) {
    out += spaces(indent);
    out += scalar_text(key, indent, false);
    out += ':';
    value.write_value(out, indent);
  }
}

void node::write_seq(std::string& out, int indent) const {
  for (const auto& item : items_) {
    if (item.kind_ == kind::map && !item.entries_.empty()) {
      // The map's first key goes on the "- " line, the others line up under it.
      std::string body;
      item.write_map(body, indent + 2);
      out += spaces(indent) + "- ";
      out += std::string_view(body).substr(static_cast<std::size_t>(indent) + 2);
    } else if (item.kind_ == kind::seq && !item.items_.empty()) {
      out += spaces(indent) + "-\n";
      item.write_seq(out, indent + 2);
    } else if (item.kind_ == kind::string) {
      // No block scalars in sequences: their indentation rules are subtler than they are useful.
      out += spaces(indent) + "- " + scalar_text(item.text_, indent, false);
      if (!item.comment_.empty()) out += "  # " + item.comment_;
      out += '\n';
    } else {
      out += spaces(indent) + "-";
      item.write_value(out, indent);
    }
  }
}

std::string write(const node& document, std::string_view header_comment, bool document_marker) {
  std::string out;
  for (auto line : lines_of(header_comment)) {
    out += line.empty() ? "#" : "# ";
    out += line;
    out += '\n';
  }
  if (document_marker) out += "---\n";
  if (document.kind_ == node::kind::map && !document.entries_.empty()) {
    document.write_map(out, 0);
  } else {
    std::string value;
    document.write_value(value, 0);
    out += std::string_view(value).substr(1);
  }
  return out;
}

}  // namespace shfn::k8s::yaml
