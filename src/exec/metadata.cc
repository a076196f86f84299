#include <algorithm>
#include <string>

#include "exec/command.h"

namespace shfn::exec {
namespace {

constexpr std::size_t max_quoted_line = 80;

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

bool is_ce_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

// Sets `name` to `value`, replacing an earlier value of the same name.
void assign(std::vector<std::pair<std::string, std::string>>& to, std::string_view name,
            std::string_view value) {
  auto it = std::find_if(to.begin(), to.end(), [&](const auto& p) { return p.first == name; });
  if (it != to.end()) {
    it->second = std::string(value);
  } else {
    to.emplace_back(std::string(name), std::string(value));
  }
}

std::string warning(std::size_t line_number, std::string_view line, std::string_view why) {
  std::string quoted(line.substr(0, max_quoted_line));
  if (line.size() > max_quoted_line) quoted += "...";
  return "line " + std::to_string(line_number) + ": " + std::string(why) + ": '" + quoted + "'";
}

// Applies one non-blank, non-comment line; returns a reason when it cannot.
std::optional<std::string_view> apply(output_metadata& m, std::string_view line) {
  const auto eq = line.find('=');
  if (eq == std::string_view::npos) return "expected NAME=VALUE";
  const std::string_view name = line.substr(0, eq);
  const std::string_view value = line.substr(eq + 1);
  if (name == "key") {
    m.key = std::string(value);
  } else if (name.starts_with("property.") && name.size() > 9) {
    assign(m.properties, name.substr(9), value);
  } else if (name.starts_with("ce.") && name.size() > 3) {
    if (!is_ce_name(name.substr(3))) return "ce attribute names are lower-case letters and digits";
    assign(m.attributes, name.substr(3), value);
  } else {
    return "expected key=, property.NAME= or ce.NAME=";
  }
  return std::nullopt;
}

}  // namespace

output_metadata parse_metadata(std::string_view text) {
  output_metadata m;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);  // a file written with CRLF line ends
    if (is_blank(line) || line.starts_with('#')) continue;
    if (auto why = apply(m, line)) m.warnings.push_back(warning(line_number, line, *why));
  }
  return m;
}

}  // namespace shfn::exec
