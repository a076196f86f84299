#include "config/reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "base/strings.h"
#include "wire/topic_name.h"

namespace shfn::config {
namespace {

namespace fs = std::filesystem;

// Larger than any spec or test file a person writes; a guard against reading a wrong path.
constexpr std::uintmax_t max_file_bytes = 16 << 20;

// YAML tags as yaml-cpp reports them: "?" for plain scalars, "!" for quoted ones.
constexpr std::string_view quoted_tag = "!";
constexpr std::string_view str_tag = "tag:yaml.org,2002:str";

// Converting userConfig expands aliases; this bounds what a small file can make us allocate.
constexpr std::size_t json_value_budget = 100'000;

bool is_quoted(const YAML::Node& node) {
  return node.Tag() == quoted_tag || node.Tag() == str_tag;
}

}  // namespace

std::string quote(std::string_view text) {
  constexpr std::size_t max_shown = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < max_shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > max_shown) out += "...";
  out += '"';
  return out;
}

namespace {

// Optimal string alignment distance: Levenshtein plus adjacent transpositions ("ouptut").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

bool is_null_text(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> bool_text(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

bool all_of_digits(std::string_view s, int base) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [base](char c) {
    if (base == 16) return std::isxdigit(static_cast<unsigned char>(c)) != 0;
    if (base == 8) return c >= '0' && c <= '7';
    return c >= '0' && c <= '9';
  });
}

enum class int_parse { not_an_int, ok, out_of_range };

// YAML 1.2 core schema integers: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+.
int_parse int_text(std::string_view s, std::int64_t& out) {
  int base = 10;
  std::string_view digits = s;
  bool negative = false;
  if (s.starts_with("0x")) {
    base = 16;
    digits = s.substr(2);
  } else if (s.starts_with("0o")) {
    base = 8;
    digits = s.substr(2);
  } else if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    digits = s.substr(1);
  }
  if (!all_of_digits(digits, base)) return int_parse::not_an_int;
  // Parse the magnitude unsigned so that the most negative value round-trips too.
  std::uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || end != digits.data() + digits.size()) return int_parse::out_of_range;
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (magnitude > max + 1) return int_parse::out_of_range;
    out = magnitude == max + 1 ? std::numeric_limits<std::int64_t>::min()
                               : -static_cast<std::int64_t>(magnitude);
  } else {
    if (magnitude > max) return int_parse::out_of_range;
    out = static_cast<std::int64_t>(magnitude);
  }
  return int_parse::ok;
}

// YAML 1.2 core schema floats, finite ones: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool float_text(std::string_view s, double& out) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const std::size_t int_start = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  const bool int_digits = i > int_start;
  bool frac_digits = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t frac_start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    frac_digits = i > frac_start;
  }
  if (!int_digits && !frac_digits) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const std::size_t exp_start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == exp_start) return false;
  }
  if (i != s.size()) return false;
  // from_chars takes no leading '+'.
  std::string_view number = s[0] == '+' ? s.substr(1) : s;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), out);
  return ec == std::errc() && end == number.data() + number.size();
}

nlohmann::json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (is_quoted(node)) return text;
  if (is_null_text(text)) return nullptr;
  if (auto b = bool_text(text)) return *b;
  std::int64_t i = 0;
  switch (int_text(text, i)) {
    case int_parse::ok:
      return i;
    case int_parse::out_of_range: {
      std::uint64_t u = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), u);
      if (ec == std::errc() && end == text.data() + text.size()) return u;
      return text;  // too large for JSON's integers: keep every digit
    }
    case int_parse::not_an_int:
      break;
  }
  // .inf and .nan stay strings: JSON cannot carry them.
  if (double d = 0; float_text(text, d)) return d;
  return text;
}

// The mark to point at for a mapping's value: yaml-cpp marks an empty (null) value at the token
// after it, often on the next line, so point at its key instead.
YAML::Mark value_mark(const YAML::Node& key, const YAML::Node& value) {
  return value.IsNull() ? key.Mark() : value.Mark();
}

// Reports non-scalar and duplicate keys of `self` (a mapping); returns the keys that are usable.
std::vector<std::pair<YAML::Node, YAML::Node>> usable_entries(const field& self) {
  std::vector<std::pair<YAML::Node, YAML::Node>> out;
  std::vector<std::pair<std::string, int>> seen;  // key, 1-based line
  // yaml-cpp's iterator-> returns a proxy by value: take copies of entries, never references.
  for (const auto& entry : self.node()) {
    const YAML::Node key = entry.first;
    if (!key.IsScalar()) {
      self.diags().error(key.Mark(), self.path(),
                         "keys must be strings, got " + describe(key) + " as a key");
      continue;
    }
    const std::string& name = key.Scalar();
    auto first =
        std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == name; });
    if (first != seen.end()) {
      self.diags().error(key.Mark(), self.child_path(name),
                         fmt::format("duplicate key (first given at line {})", first->second));
      continue;
    }
    seen.emplace_back(name, key.Mark().line + 1);
    out.emplace_back(key, entry.second);
  }
  return out;
}

bool to_json(const field& f, std::size_t& budget, nlohmann::json& out) {
  if (budget == 0) return false;
  --budget;
  const YAML::Node& node = f.node();
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out = nullptr;
      return true;
    case YAML::NodeType::Scalar:
      out = scalar_to_json(node);
      return true;
    case YAML::NodeType::Sequence: {
      out = nlohmann::json::array();
      auto items = f.as_list();
      for (const auto& item : *items) {
        nlohmann::json value;
        if (!to_json(item, budget, value)) return false;
        out.push_back(std::move(value));
      }
      return true;
    }
    case YAML::NodeType::Map: {
      out = nlohmann::json::object();
      auto entries = f.as_entries();
      for (const auto& [key, value] : *entries) {
        nlohmann::json v;
        if (!to_json(value, budget, v)) return false;
        out[key.node().Scalar()] = std::move(v);
      }
      return true;
    }
  }
  return true;
}

}  // namespace

location diagnostics::at(const YAML::Mark& mark) const {
  // yaml-cpp's null mark is -1/-1: a position it does not know.
  return location{file_, mark.line >= 0 ? mark.line + 1 : 0,
                  mark.column >= 0 ? mark.column + 1 : 0};
}

void diagnostics::error(const YAML::Mark& mark, std::string field, std::string message) {
  error(at(mark), std::move(field), std::move(message));
}

void diagnostics::error(location where, std::string field, std::string message) {
  errors_.push_back(spec_error{std::move(where), std::move(field), std::move(message)});
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      break;
  }
  return (is_quoted(node) ? "the string " : "") + quote(node.Scalar());
}

std::string_view suggest(std::string_view word, std::span<const std::string_view> candidates) {
  const std::string w = ascii_lower(word);
  const std::size_t allowed = std::max<std::size_t>(2, word.size() / 5);
  std::string_view best;
  std::size_t best_distance = allowed + 1;
  for (auto c : candidates) {
    const std::size_t d = edit_distance(w, ascii_lower(c));
    if (d < best_distance && d < word.size()) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  auto s = suggest(word, candidates);
  return s.empty() ? std::string() : fmt::format(" (did you mean \"{}\"?)", s);
}

void field::error(std::string message) const {
  diags_->error(mark_, path_, std::move(message));
}

location field::where_at(std::size_t offset) const {
  const location start = where();
  const std::string_view src = diags_->source();
  if (!node_.IsScalar() || mark_.pos < 0 || static_cast<std::size_t>(mark_.pos) >= src.size())
    return start;
  const std::string& value = node_.Scalar();
  if (offset > value.size()) return start;
  const std::size_t pos = static_cast<std::size_t>(mark_.pos);
  const char quote_char = src[pos];
  std::size_t i = pos;
  if (quote_char == '"' || quote_char == '\'') {
    // Walk the quoted text: one source character per value character, but for '' in single
    // quotes; escapes and line breaks in double quotes are given up on.
    ++i;
    for (std::size_t done = 0; done < offset; ++done) {
      if (i >= src.size() || src[i] == '\n' || src[i] == '\r') return start;
      if (quote_char == '"' && (src[i] == '\\' || src[i] == '"')) return start;
      if (quote_char == '\'' && src[i] == '\'') {
        if (i + 1 >= src.size() || src[i + 1] != '\'') return start;
        ++i;
      }
      ++i;
    }
  } else {
    // A plain scalar on one line is its own text; anything else (block scalars, folded lines)
    // is pointed at as a whole.
    if (src.substr(pos, value.size()) != value) return start;
    i = pos + offset;
  }
  return location{start.file, start.line, start.column + static_cast<int>(i - pos)};
}

std::string field::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::string field::index_path(std::size_t index) const {
  return path_ + "[" + std::to_string(index) + "]";
}

std::optional<std::string> field::as_string() const {
  if (!node_.IsScalar()) {
    error("expected a string, got " + describe(node_));
    return std::nullopt;
  }
  return node_.Scalar();
}

std::optional<std::int64_t> field::as_int(std::int64_t min, std::int64_t max) const {
  if (!node_.IsScalar() || is_quoted(node_)) {
    error("expected an integer, got " + describe(node_));
    return std::nullopt;
  }
  std::int64_t value = 0;
  const auto parsed = int_text(node_.Scalar(), value);
  if (parsed == int_parse::not_an_int) {
    error("expected an integer, got " + describe(node_));
    return std::nullopt;
  }
  if (parsed == int_parse::out_of_range || value < min || value > max) {
    if (max == std::numeric_limits<std::int64_t>::max())
      error(fmt::format("must be at least {}, got {}", min, node_.Scalar()));
    else
      error(fmt::format("must be between {} and {}, got {}", min, max, node_.Scalar()));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> field::as_bool() const {
  if (node_.IsScalar() && !is_quoted(node_)) {
    if (auto b = bool_text(node_.Scalar())) return b;
  }
  error("expected true or false, got " + describe(node_));
  return std::nullopt;
}

std::optional<std::vector<field>> field::as_list() const {
  if (!node_.IsSequence()) {
    error("expected a list, got " + describe(node_));
    return std::nullopt;
  }
  std::vector<field> items;
  std::size_t i = 0;
  for (const auto& item : node_) {
    // An empty item ("-" alone) is marked at the next token; the list's own mark is closer.
    const YAML::Mark mark = item.IsNull() ? mark_ : item.Mark();
    items.emplace_back(*diags_, item, mark, index_path(i++));
  }
  return items;
}

std::optional<mapping> field::as_mapping(std::vector<std::string_view> known) const {
  if (!node_.IsMap()) {
    error("expected a mapping, got " + describe(node_));
    return std::nullopt;
  }
  return mapping(*this, std::move(known));
}

std::optional<std::vector<std::pair<field, field>>> field::as_entries() const {
  if (!node_.IsMap()) {
    error("expected a mapping, got " + describe(node_));
    return std::nullopt;
  }
  std::vector<std::pair<field, field>> out;
  for (auto& [key, value] : usable_entries(*this)) {
    std::string path = child_path(key.Scalar());
    out.emplace_back(field(*diags_, key, key.Mark(), path),
                     field(*diags_, value, value_mark(key, value), path));
  }
  return out;
}

std::optional<nlohmann::json> field::as_json() const {
  std::size_t budget = json_value_budget;
  nlohmann::json out;
  const std::size_t errors_before = diags_->count();
  if (!to_json(*this, budget, out)) {
    error(
        fmt::format("too large: more than {} values (after expanding aliases)", json_value_budget));
    return std::nullopt;
  }
  if (diags_->count() != errors_before) return std::nullopt;
  return out;
}

void field::report_bad_choice(const std::string& text,
                              std::span<const std::string_view> spellings) const {
  std::string allowed;
  for (std::size_t i = 0; i < spellings.size(); ++i) {
    if (i > 0) allowed += i + 1 == spellings.size() ? " or " : ", ";
    allowed += spellings[i];
  }
  error(fmt::format("expected {}, got {}{}", allowed, quote(text), did_you_mean(text, spellings)));
}

mapping::mapping(field self, std::vector<std::string_view> known)
    : self_(std::move(self)), known_(std::move(known)) {
  for (auto& [key, value] : usable_entries(self_)) {
    const std::string& name = key.Scalar();
    if (std::find(known_.begin(), known_.end(), name) == known_.end())
      self_.diags().error(key.Mark(), self_.child_path(name),
                          "unknown field" + did_you_mean(name, known_));
  }
}

std::optional<field> mapping::get(std::string_view key) const {
  // A key the caller did not declare would never be reported as unknown: a bug here, not in the
  // user's file.
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
    self_.error(fmt::format("internal error: field \"{}\" read but not declared", key));
    return std::nullopt;
  }
  for (const auto& entry : self_.node()) {
    if (!entry.first.IsScalar() || entry.first.Scalar() != key) continue;
    if (entry.second.IsNull()) return std::nullopt;
    return field(self_.diags(), entry.second, value_mark(entry.first, entry.second),
                 self_.child_path(key));
  }
  return std::nullopt;
}

std::optional<field> mapping::require(std::string_view key) const {
  auto f = get(key);
  if (!f) self_.diags().error(self_.mark(), self_.child_path(key), "required field is missing");
  return f;
}

std::optional<std::string> read_topic(const field& f) {
  auto text = f.as_string();
  if (!text) return std::nullopt;
  auto topic = wire::parse_topic_name(*text);
  if (!topic) {
    f.error(
        fmt::format("invalid topic name {}: expected NAME, TENANT/NAMESPACE/NAME or "
                    "persistent://TENANT/NAMESPACE/NAME",
                    quote(*text)));
    return std::nullopt;
  }
  return topic->str();
}

tl::expected<file_text, std::vector<spec_error>> read_file_text(const std::string& path,
                                                                std::string_view what) {
  const auto fail = [&](std::string message) {
    return tl::unexpected(
        std::vector<spec_error>{spec_error{location{path}, "", std::move(message)}});
  };
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fail(fmt::format("is a directory, not {}", what));
  const auto size = fs::file_size(path, ec);
  if (!ec && size > max_file_bytes)
    return fail(fmt::format("too large ({} bytes; the limit is {})", size, max_file_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::string("cannot read: ") + std::strerror(errno));
  file_text out;
  out.text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return fail(std::string("cannot read: ") + std::strerror(errno));
  fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  if (ec) dir = fs::path(path).parent_path();
  out.base_dir = dir.lexically_normal().string();
  return out;
}

std::string absolute_dir(const std::string& dir) {
  std::error_code ec;
  fs::path out = fs::absolute(dir.empty() ? fs::path(".") : fs::path(dir), ec);
  if (ec) out = dir;
  return out.lexically_normal().string();
}

}  // namespace shfn::config
