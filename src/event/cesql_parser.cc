// CESQL text -> node tree (cesql_tree.h): a lexer, then precedence climbing over the levels of
// the spec's ANTLR grammar. Every error names the 1-based column it was found at.

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <utility>

#include "event/cesql_tree.h"

namespace shfn::event::cesql {
namespace {

struct token {
  enum class kind { end, integer, string, word, symbol };
  kind what = kind::end;
  std::string text;         // a word or symbol as written; a string's value, unescaped
  std::int64_t number = 0;  // an integer's magnitude (the sign is an operator)
  std::size_t column = 0;   // 1-based
};

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

struct parse_error {
  std::size_t column;
  std::string message;
};

class lexer {
 public:
  explicit lexer(std::string_view text) : text_(text) {}

  // Every token, ending with kind::end; or the first error.
  std::optional<parse_error> run(std::vector<token>& out) {
    while (true) {
      while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0)
        ++pos_;
      token t{.column = pos_ + 1};
      if (pos_ == text_.size()) {
        out.push_back(std::move(t));
        return std::nullopt;
      }
      if (auto error = next(t)) return error;
      out.push_back(std::move(t));
    }
  }

 private:
  std::optional<parse_error> next(token& t) {
    const char c = text_[pos_];
    if (c == '\'' || c == '"') return quoted(t, c);
    if (is_word_char(c)) return word(t);
    static constexpr std::string_view two_char[] = {"!=", "<>", ">=", "<="};
    for (std::string_view s : two_char) {
      if (text_.substr(pos_).starts_with(s)) return symbol(t, s.size());
    }
    if (std::string_view("()*/%+-=<>,").find(c) != std::string_view::npos) return symbol(t, 1);
    return parse_error{pos_ + 1, fmt::format("unexpected character '{}'", c)};
  }

  std::optional<parse_error> symbol(token& t, std::size_t length) {
    t.what = token::kind::symbol;
    t.text = text_.substr(pos_, length);
    pos_ += length;
    return std::nullopt;
  }

  // A string literal: only the delimiter is escaped (\' in '...', \" in "..."); any other
  // backslash stays, for LIKE patterns to read.
  std::optional<parse_error> quoted(token& t, char quote) {
    const std::size_t start = pos_++;
    t.what = token::kind::string;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size() && text_[pos_ + 1] == quote) ++pos_;
      t.text += text_[pos_++];
    }
    if (pos_ == text_.size()) return parse_error{start + 1, "string literal is not closed"};
    ++pos_;
    return std::nullopt;
  }

  std::optional<parse_error> word(token& t) {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_word_char(text_[pos_])) ++pos_;
    t.text = text_.substr(start, pos_ - start);
    if (!std::ranges::all_of(t.text, [](unsigned char c) { return std::isdigit(c) != 0; })) {
      t.what = token::kind::word;
      return std::nullopt;
    }
    t.what = token::kind::integer;
    // Up to 2^31, the magnitude of the smallest Integer; the parser checks the sign.
    constexpr std::int64_t limit = std::int64_t{1} << 31;
    auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.number);
    if (ec != std::errc() || t.number > limit)
      return parse_error{start + 1, fmt::format("integer {} is out of the 32-bit range", t.text)};
    return std::nullopt;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// Binding strength of the operators that follow an operand; higher binds tighter.
enum level { logic = 1, comparison, additive, multiplicative, in_level, like_level };

using op = node::op;

std::optional<std::pair<op, int>> binary_operator(const token& t) {
  if (t.what == token::kind::symbol) {
    static const std::pair<std::string_view, std::pair<op, int>> symbols[] = {
        {"*", {op::multiply, multiplicative}}, {"/", {op::divide, multiplicative}},
        {"%", {op::modulo, multiplicative}},   {"+", {op::add, additive}},
        {"-", {op::subtract, additive}},       {"=", {op::equal, comparison}},
        {"!=", {op::not_equal, comparison}},   {"<>", {op::not_equal, comparison}},
        {"<", {op::less, comparison}},         {"<=", {op::less_or_equal, comparison}},
        {">", {op::greater, comparison}},      {">=", {op::greater_or_equal, comparison}},
    };
    for (const auto& [s, o] : symbols)
      if (t.text == s) return o;
    return std::nullopt;
  }
  if (t.what != token::kind::word) return std::nullopt;
  const std::string w = upper(t.text);
  if (w == "AND") return std::pair{op::and_, logic};
  if (w == "OR") return std::pair{op::or_, logic};
  if (w == "XOR") return std::pair{op::xor_, logic};
  return std::nullopt;
}

bool is_keyword(const token& t, std::string_view keyword) {
  return t.what == token::kind::word && upper(t.text) == keyword;
}

bool is_symbol(const token& t, std::string_view s) {
  return t.what == token::kind::symbol && t.text == s;
}

std::string describe(const token& t) {
  switch (t.what) {
    case token::kind::end:
      return "the end";
    case token::kind::string:
      return "a string";
    default:
      return "'" + t.text + "'";
  }
}

class parser {
 public:
  explicit parser(std::vector<token> tokens) : tokens_(std::move(tokens)) {}

  node parse() {
    node root = expression(logic);
    if (peek().what != token::kind::end) fail(fmt::format("unexpected {}", describe(peek())));
    return root;
  }

  std::optional<parse_error> error() const { return error_; }

 private:
  // An operand, then every operator of at least `min` strength that follows it. AND, OR and XOR
  // group to the right, the others to the left.
  node expression(int min) {
    node left = unary();
    while (!error_) {
      if (auto postfix = postfix_level(); postfix && *postfix >= min) {
        left = postfix_operation(std::move(left));
        continue;
      }
      auto binary = binary_operator(peek());
      if (!binary || binary->second < min) break;
      take();
      const int right_min = binary->second == logic ? logic : binary->second + 1;
      node right = expression(right_min);
      if (error_) break;
      left = node{.what = binary->first, .operands = {std::move(left), std::move(right)}};
    }
    return left;
  }

  // LIKE, NOT LIKE, IN or NOT IN next: their strength.
  std::optional<int> postfix_level() const {
    std::size_t i = next_;
    if (is_keyword(tokens_[i], "NOT") && i + 1 < tokens_.size()) ++i;
    if (is_keyword(tokens_[i], "LIKE")) return like_level;
    if (is_keyword(tokens_[i], "IN")) return in_level;
    return std::nullopt;
  }

  node postfix_operation(node left) {
    const bool negated = is_keyword(peek(), "NOT");
    if (negated) take();
    if (is_keyword(take(), "LIKE")) {
      const token& pattern = take();
      if (pattern.what != token::kind::string) {
        fail_at(pattern, "LIKE takes a string literal pattern, not " + describe(pattern));
        return left;
      }
      return node{.what = op::like,
                  .pattern = pattern.text,
                  .negated = negated,
                  .operands = {std::move(left)}};
    }
    node in{.what = op::in, .negated = negated, .operands = {std::move(left)}};
    if (!expect("(", "after IN")) return in;
    list(in.operands);
    expect(")", "to close the IN set");
    return in;
  }

  // Expressions separated by commas: a set's or a call's.
  void list(std::vector<node>& out) {
    while (true) {
      out.push_back(expression(logic));
      if (error_ || !is_symbol(peek(), ",")) return;
      take();
    }
  }

  node unary() {
    const token& t = peek();
    if (is_keyword(t, "NOT")) {
      take();
      return node{.what = op::not_, .operands = {unary()}};
    }
    if (is_symbol(t, "-") || is_symbol(t, "+")) {
      take();
      if (peek().what == token::kind::integer) return integer(take(), t.text == "-");
      if (t.text == "+") fail_at(t, "'+' is no unary operator");
      return node{.what = op::negate, .operands = {unary()}};
    }
    return primary();
  }

  node primary() {
    const token& t = take();
    switch (t.what) {
      case token::kind::integer:
        return integer(t, false);
      case token::kind::string:
        return node{.literal = t.text};
      case token::kind::word:
        return word(t);
      case token::kind::symbol:
        if (t.text == "(") {
          node inner = expression(logic);
          expect(")", "to close '('");
          return inner;
        }
        break;
      case token::kind::end:
        break;
    }
    fail_at(t, "expected an expression, found " + describe(t));
    return {};
  }

  node integer(const token& t, bool negative) {
    const std::int64_t v = negative ? -t.number : t.number;
    if (v > std::numeric_limits<std::int32_t>::max()) {
      fail_at(t, fmt::format("integer {} is out of the 32-bit range", t.text));
      return {};
    }
    return node{.literal = static_cast<std::int32_t>(v)};
  }

  node word(const token& t) {
    const std::string w = upper(t.text);
    if (w == "TRUE" || w == "FALSE") return node{.literal = w == "TRUE"};
    if (w == "EXISTS") return node{.what = op::exists, .name = identifier(take())};
    if (is_symbol(peek(), "(")) return call(t);
    static constexpr std::string_view reserved[] = {"AND", "OR", "XOR", "NOT", "LIKE", "IN"};
    if (std::ranges::find(reserved, w) != std::end(reserved)) {
      fail_at(t, "expected an expression, found " + describe(t));
      return {};
    }
    return node{.what = op::attribute, .name = identifier(t)};
  }

  node call(const token& name) {
    take();  // (
    node n{.what = op::call, .name = upper(name.text)};
    if (!is_symbol(peek(), ")")) list(n.operands);
    expect(")", "to close the arguments of " + n.name);
    n.function = find_function(n.name, n.operands.size());
    return n;
  }

  // An attribute name: letters and digits, looked up in lower case.
  std::string identifier(const token& t) {
    const bool ok = t.what == token::kind::word &&
                    std::ranges::all_of(t.text, [](unsigned char c) { return std::isalnum(c); });
    if (!ok) fail_at(t, "expected an attribute name (letters and digits), found " + describe(t));
    return lower(t.text);
  }

  bool expect(std::string_view symbol, std::string_view why) {
    if (error_) return false;
    const token& t = take();
    if (is_symbol(t, symbol)) return true;
    fail_at(t, fmt::format("expected '{}' {}, found {}", symbol, why, describe(t)));
    return false;
  }

  const token& peek() const { return tokens_[next_]; }
  const token& take() {
    const token& t = tokens_[next_];
    if (next_ + 1 < tokens_.size()) ++next_;
    return t;
  }
  void fail(std::string message) { fail_at(peek(), std::move(message)); }
  void fail_at(const token& t, std::string message) {
    if (!error_) error_ = parse_error{t.column, std::move(message)};
  }

  std::vector<token> tokens_;
  std::size_t next_ = 0;
  std::optional<parse_error> error_;
};

void collect_unknown(const node& n, std::vector<std::string>& out) {
  if (n.what == op::call && n.function == nullptr) {
    out.push_back(fmt::format("{} with {} argument{}", n.name, n.operands.size(),
                              n.operands.size() == 1 ? "" : "s"));
  }
  for (const auto& child : n.operands) collect_unknown(child, out);
}

}  // namespace

expression::expression(std::shared_ptr<const node> root, std::string text)
    : root_(std::move(root)), text_(std::move(text)) {
  collect_unknown(*root_, unknown_functions_);
}

event_result<std::shared_ptr<const expression>> compile(std::string_view text) {
  std::vector<token> tokens;
  std::optional<parse_error> error = lexer(text).run(tokens);
  node root;
  if (!error) {
    parser p(std::move(tokens));
    root = p.parse();
    error = p.error();
  }
  if (error) {
    return fail_with(errc::invalid_filter,
                     fmt::format("column {}: {}", error->column, error->message));
  }
  return std::make_shared<const expression>(std::make_shared<const node>(std::move(root)),
                                            std::string(text));
}

}  // namespace shfn::event::cesql
