// CESQL evaluation: casts (spec 3.7), operators (3.4) and the built-in functions (3.5), over the
// tree cesql_parser.cc builds. Errors follow the rule in cesql.h: an operation whose operand
// failed returns its own type's zero value and the operand's error.

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>

#include "base/unicode.h"
#include "event/cesql_tree.h"

namespace shfn::event::cesql {

// The types of CESQL, in the order of `value`'s alternatives; `any` is only a parameter type: a
// function taking it gets the argument as it is (INT, BOOL, STRING, IS_INT, IS_BOOL).
enum class type { boolean, integer, string, any };

struct function_definition {
  std::string_view name;
  std::vector<type> parameters;
  bool variadic = false;  // the last parameter's type repeats, zero or more times
  type returns = type::boolean;
  result (*body)(const std::vector<value>& arguments) = nullptr;
};

namespace {

using op = node::op;

type type_of(const value& v) {
  return static_cast<type>(v.index());
}

value zero(type t) {
  switch (t) {
    case type::integer:
      return std::int32_t{0};
    case type::string:
      return std::string();
    case type::boolean:
    case type::any:
      break;
  }
  return false;
}

std::string_view type_name(type t) {
  switch (t) {
    case type::integer:
      return "Integer";
    case type::string:
      return "String";
    case type::boolean:
    case type::any:
      break;
  }
  return "Boolean";
}

result failed(type t, error_kind kind, std::string message) {
  return {zero(t), failure{kind, std::move(message)}};
}

// The spec's String -> Integer: base 10, an optional sign, within 32 bits.
std::optional<std::int32_t> parse_integer(std::string_view s) {
  if (s.starts_with('+')) s.remove_prefix(1);
  std::int32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<bool> parse_boolean(std::string_view s) {
  std::string folded(s);
  std::ranges::transform(folded, folded.begin(), [](unsigned char c) { return std::tolower(c); });
  if (folded == "true") return true;
  if (folded == "false") return false;
  return std::nullopt;
}

std::string as_string(const value& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<std::int32_t>(&v)) return std::to_string(*i);
  return std::get<std::string>(v);
}

result cast(const value& v, type to) {
  if (to == type::any || type_of(v) == to) return {v};
  if (to == type::string) return {as_string(v)};
  const auto* s = std::get_if<std::string>(&v);
  const auto cannot = [&] {
    return failed(to, error_kind::cast,
                  fmt::format("cannot cast \"{}\" to {}", as_string(v), type_name(to)));
  };
  if (to == type::integer) {
    if (s == nullptr) return {std::int32_t{std::get<bool>(v) ? 1 : 0}};
    if (auto i = parse_integer(*s)) return {*i};
    return cannot();
  }
  if (s == nullptr) return {std::get<std::int32_t>(v) != 0};
  if (auto b = parse_boolean(*s)) return {*b};
  return cannot();
}

// Two's complement wrap-around, as 32-bit arithmetic does, without signed overflow.
std::int32_t wrap(std::int64_t v) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
}

// Code points, for LENGTH, LEFT, RIGHT, SUBSTRING and LIKE; a malformed byte counts as one.
std::vector<std::string_view> characters(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = std::max<std::size_t>(decode_utf8(s, i, cp), 1);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string join(const std::vector<std::string_view>& chars, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to && i < chars.size(); ++i) out += chars[i];
  return out;
}

// LIKE: % any run of characters, _ one character, \% and \_ themselves; anything else (a lone
// backslash too) is itself. Backtracks to the last %, so it is linear for one % and at worst
// value x pattern.
bool like(std::string_view value_text, std::string_view pattern_text) {
  struct item {
    enum { literal, one, run } what;
    std::string_view text;
  };
  std::vector<item> pattern;
  const auto chars = characters(pattern_text);
  for (std::size_t i = 0; i < chars.size(); ++i) {
    if (chars[i] == "\\" && i + 1 < chars.size() && (chars[i + 1] == "%" || chars[i + 1] == "_"))
      pattern.push_back({item::literal, chars[++i]});
    else if (chars[i] == "%")
      pattern.push_back({item::run, {}});
    else if (chars[i] == "_")
      pattern.push_back({item::one, {}});
    else
      pattern.push_back({item::literal, chars[i]});
  }
  const auto text = characters(value_text);
  std::size_t t = 0, p = 0, run_p = std::string_view::npos, run_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p].what == item::run) {
      run_p = p++;
      run_t = t;
    } else if (p < pattern.size() && (pattern[p].what == item::one || pattern[p].text == text[t])) {
      ++p;
      ++t;
    } else if (run_p != std::string_view::npos) {
      p = run_p + 1;
      t = ++run_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p].what == item::run) ++p;
  return p == pattern.size();
}

bool is_unicode_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

std::string trim(std::string_view s) {
  const auto chars = characters(s);
  const auto space = [](std::string_view ch) {
    char32_t cp = 0;
    return decode_utf8(ch, 0, cp) != 0 && is_unicode_space(cp);
  };
  std::size_t from = 0, to = chars.size();
  while (from < to && space(chars[from])) ++from;
  while (to > from && space(chars[to - 1])) --to;
  return join(chars, from, to);
}

std::string map_ascii(std::string s, bool to_upper) {
  std::ranges::transform(s, s.begin(), [to_upper](unsigned char c) {
    return static_cast<char>(to_upper ? std::toupper(c) : std::tolower(c));
  });
  return s;
}

const std::string& str(const value& v) {
  return std::get<std::string>(v);
}
std::int32_t num(const value& v) {
  return std::get<std::int32_t>(v);
}

result left_or_right(const std::vector<value>& a, bool left) {
  const auto chars = characters(str(a[0]));
  const std::int32_t n = num(a[1]);
  if (n < 0) {
    return {a[0], failure{error_kind::function_evaluation,
                          fmt::format("{} takes a length of 0 or more, not {}",
                                      left ? "LEFT" : "RIGHT", n)}};
  }
  const std::size_t count = std::min<std::size_t>(n, chars.size());
  return {left ? join(chars, 0, count) : join(chars, chars.size() - count, chars.size())};
}

result substring(const std::vector<value>& a) {
  const auto chars = characters(str(a[0]));
  const auto length = static_cast<std::int64_t>(chars.size());
  const std::int64_t pos = num(a[1]);
  if (pos > length || pos < -length) {
    return failed(
        type::string, error_kind::function_evaluation,
        fmt::format("SUBSTRING position {} is outside a string of {} characters", pos, length));
  }
  if (a.size() == 3 && num(a[2]) < 0) {
    return failed(type::string, error_kind::function_evaluation,
                  fmt::format("SUBSTRING takes a length of 0 or more, not {}", num(a[2])));
  }
  if (pos == 0) return {std::string()};
  const std::int64_t start = pos > 0 ? pos - 1 : length + pos;
  const std::int64_t end = a.size() == 3 ? std::min(length, start + num(a[2])) : length;
  return {join(chars, static_cast<std::size_t>(start), static_cast<std::size_t>(end))};
}

result concat(const std::vector<value>& a, std::string_view separator, std::size_t first) {
  std::string out;
  for (std::size_t i = first; i < a.size(); ++i) {
    if (i > first) out += separator;
    out += str(a[i]);
  }
  return {out};
}

const std::vector<function_definition>& functions() {
  using t = type;
  static const std::vector<function_definition> all = {
      {"LENGTH",
       {t::string},
       false,
       t::integer,
       [](const auto& a) {
         return result{static_cast<std::int32_t>(characters(str(a[0])).size())};
       }},
      {"CONCAT", {t::string}, true, t::string, [](const auto& a) { return concat(a, "", 0); }},
      {"CONCAT_WS",
       {t::string, t::string},
       true,
       t::string,
       [](const auto& a) { return concat(a, str(a[0]), 1); }},
      {"LOWER",
       {t::string},
       false,
       t::string,
       [](const auto& a) { return result{map_ascii(str(a[0]), false)}; }},
      {"UPPER",
       {t::string},
       false,
       t::string,
       [](const auto& a) { return result{map_ascii(str(a[0]), true)}; }},
      {"TRIM",
       {t::string},
       false,
       t::string,
       [](const auto& a) { return result{trim(str(a[0]))}; }},
      {"LEFT",
       {t::string, t::integer},
       false,
       t::string,
       [](const auto& a) { return left_or_right(a, true); }},
      {"RIGHT",
       {t::string, t::integer},
       false,
       t::string,
       [](const auto& a) { return left_or_right(a, false); }},
      {"SUBSTRING", {t::string, t::integer}, false, t::string, substring},
      {"SUBSTRING", {t::string, t::integer, t::integer}, false, t::string, substring},
      {"ABS",
       {t::integer},
       false,
       t::integer,
       [](const auto& a) {
         if (num(a[0]) == std::numeric_limits<std::int32_t>::min()) {
           return result{std::numeric_limits<std::int32_t>::max(),
                         failure{error_kind::math, "ABS of -2147483648 does not fit 32 bits"}};
         }
         return result{std::abs(num(a[0]))};
       }},
      {"INT", {t::any}, false, t::integer, [](const auto& a) { return cast(a[0], t::integer); }},
      {"BOOL", {t::any}, false, t::boolean, [](const auto& a) { return cast(a[0], t::boolean); }},
      {"STRING", {t::any}, false, t::string, [](const auto& a) { return cast(a[0], t::string); }},
      {"IS_INT",
       {t::any},
       false,
       t::boolean,
       [](const auto& a) { return result{!cast(a[0], t::integer).error}; }},
      {"IS_BOOL",
       {t::any},
       false,
       t::boolean,
       [](const auto& a) { return result{!cast(a[0], t::boolean).error}; }},
  };
  return all;
}

result evaluate(const node& n, const cloud_event& e);

// An operand cast to `as`: its value, or its error.
result evaluate_as(const node& n, const cloud_event& e, type as) {
  result r = evaluate(n, e);
  return r.error ? r : cast(r.v, as);
}

// The error an operation of type `t` returns for a failed operand.
result passing_on(type t, const result& operand) {
  return {zero(t), operand.error};
}

result call(const node& n, const cloud_event& e) {
  const function_definition* f = n.function;
  if (f == nullptr) {
    return failed(type::boolean, error_kind::missing_function,
                  fmt::format("no function {} takes {} argument{}", n.name, n.operands.size(),
                              n.operands.size() == 1 ? "" : "s"));
  }
  std::vector<value> arguments;
  for (std::size_t i = 0; i < n.operands.size(); ++i) {
    const type as = f->parameters[std::min(i, f->parameters.size() - 1)];
    result r = evaluate_as(n.operands[i], e, as);
    if (r.error) return passing_on(f->returns, r);
    arguments.push_back(std::move(r.v));
  }
  return f->body(arguments);
}

result arithmetic(const node& n, const cloud_event& e) {
  const result a = evaluate_as(n.operands[0], e, type::integer);
  if (a.error) return passing_on(type::integer, a);
  const result b = evaluate_as(n.operands[1], e, type::integer);
  if (b.error) return passing_on(type::integer, b);
  const std::int64_t x = num(a.v), y = num(b.v);
  if ((n.what == op::divide || n.what == op::modulo) && y == 0)
    return failed(type::integer, error_kind::math, "division by zero");
  switch (n.what) {
    case op::multiply:
      return {wrap(x * y)};
    case op::divide:
      return {wrap(x / y)};
    case op::modulo:
      return {wrap(x % y)};
    case op::add:
      return {wrap(x + y)};
    default:
      return {wrap(x - y)};
  }
}

result ordering(const node& n, const cloud_event& e) {
  const result a = evaluate_as(n.operands[0], e, type::integer);
  if (a.error) return passing_on(type::boolean, a);
  const result b = evaluate_as(n.operands[1], e, type::integer);
  if (b.error) return passing_on(type::boolean, b);
  switch (n.what) {
    case op::less:
      return {num(a.v) < num(b.v)};
    case op::less_or_equal:
      return {num(a.v) <= num(b.v)};
    case op::greater:
      return {num(a.v) > num(b.v)};
    default:
      return {num(a.v) >= num(b.v)};
  }
}

// `=` is defined for each type: the right operand's type picks which (spec 3.7), and the left
// one is cast to it.
result equality(const node& n, const cloud_event& e) {
  const result b = evaluate(n.operands[1], e);
  if (b.error) return passing_on(type::boolean, b);
  const result a = evaluate_as(n.operands[0], e, type_of(b.v));
  if (a.error) return passing_on(type::boolean, a);
  return {(a.v == b.v) != (n.what == op::not_equal)};
}

// IN casts each element to the left operand's type.
result membership(const node& n, const cloud_event& e) {
  const result x = evaluate(n.operands[0], e);
  if (x.error) return passing_on(type::boolean, x);
  for (std::size_t i = 1; i < n.operands.size(); ++i) {
    const result y = evaluate_as(n.operands[i], e, type_of(x.v));
    if (y.error) return passing_on(type::boolean, y);
    if (y.v == x.v) return {!n.negated};
  }
  return {n.negated};
}

result logic(const node& n, const cloud_event& e) {
  const result a = evaluate_as(n.operands[0], e, type::boolean);
  if (a.error) return passing_on(type::boolean, a);
  const bool x = std::get<bool>(a.v);
  if (n.what == op::and_ && !x) return {false};
  if (n.what == op::or_ && x) return {true};
  const result b = evaluate_as(n.operands[1], e, type::boolean);
  if (b.error) return passing_on(type::boolean, b);
  const bool y = std::get<bool>(b.v);
  return {n.what == op::xor_ ? x != y : y};
}

result evaluate(const node& n, const cloud_event& e) {
  switch (n.what) {
    case op::literal:
      return {n.literal};
    case op::attribute: {
      if (auto v = attribute(e, n.name)) return {std::string(*v)};
      return failed(type::boolean, error_kind::missing_attribute,
                    fmt::format("the event has no attribute \"{}\"", n.name));
    }
    case op::exists:
      return {attribute(e, n.name).has_value()};
    case op::call:
      return call(n, e);
    case op::not_: {
      const result a = evaluate_as(n.operands[0], e, type::boolean);
      return a.error ? passing_on(type::boolean, a) : result{!std::get<bool>(a.v)};
    }
    case op::negate: {
      const result a = evaluate_as(n.operands[0], e, type::integer);
      return a.error ? passing_on(type::integer, a) : result{wrap(-std::int64_t{num(a.v)})};
    }
    case op::like: {
      const result a = evaluate_as(n.operands[0], e, type::string);
      if (a.error) return passing_on(type::boolean, a);
      return {like(str(a.v), n.pattern) != n.negated};
    }
    case op::in:
      return membership(n, e);
    case op::multiply:
    case op::divide:
    case op::modulo:
    case op::add:
    case op::subtract:
      return arithmetic(n, e);
    case op::equal:
    case op::not_equal:
      return equality(n, e);
    case op::less:
    case op::less_or_equal:
    case op::greater:
    case op::greater_or_equal:
      return ordering(n, e);
    case op::and_:
    case op::or_:
    case op::xor_:
      return logic(n, e);
  }
  return {false};
}

}  // namespace

const function_definition* find_function(std::string_view name, std::size_t arity) {
  const function_definition* variadic = nullptr;
  for (const auto& f : functions()) {
    if (f.name != name) continue;
    if (!f.variadic && f.parameters.size() == arity) return &f;
    if (f.variadic && arity + 1 >= f.parameters.size()) variadic = &f;
  }
  return variadic;
}

std::string_view name(error_kind kind) {
  switch (kind) {
    case error_kind::parse:
      return "parse";
    case error_kind::math:
      return "math";
    case error_kind::cast:
      return "cast";
    case error_kind::missing_function:
      return "missingFunction";
    case error_kind::function_evaluation:
      return "functionEvaluation";
    case error_kind::missing_attribute:
      return "missingAttribute";
  }
  return "generic";
}

result expression::evaluate(const cloud_event& e) const {
  return cesql::evaluate(*root_, e);
}

bool expression::passes(const cloud_event& e) const {
  const result r = evaluate(e);
  const auto* b = std::get_if<bool>(&r.v);
  return !r.error && b != nullptr && *b;
}

}  // namespace shfn::event::cesql
