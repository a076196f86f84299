#include "k8s/quantity.h"

#include <cmath>
#include <utility>

namespace shfn::k8s {

namespace {

std::optional<long double> suffix_factor(std::string_view s) {
  static constexpr std::pair<std::string_view, long double> suffixes[] = {
      {"", 1.0L},      {"n", 1e-9L},    {"u", 1e-6L},    {"m", 1e-3L},
      {"k", 1e3L},     {"M", 1e6L},     {"G", 1e9L},     {"T", 1e12L},
      {"P", 1e15L},    {"E", 1e18L},    {"Ki", 0x1p10L}, {"Mi", 0x1p20L},
      {"Gi", 0x1p30L}, {"Ti", 0x1p40L}, {"Pi", 0x1p50L}, {"Ei", 0x1p60L}};
  for (const auto& [name, factor] : suffixes)
    if (name == s) return factor;
  // A decimal exponent: "e3", "E-2" ("E" alone is exa, above).
  if (s.size() >= 2 && (s[0] == 'e' || s[0] == 'E')) {
    std::size_t i = 1;
    const bool negative = s[i] == '-';
    if (s[i] == '+' || s[i] == '-') ++i;
    if (i == s.size()) return std::nullopt;
    long exponent = 0;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9' || exponent > 1000) return std::nullopt;
      exponent = exponent * 10 + (s[i] - '0');
    }
    return std::pow(10.0L, static_cast<long double>(negative ? -exponent : exponent));
  }
  return std::nullopt;
}

}  // namespace

std::optional<long double> quantity_value(std::string_view q) {
  std::size_t i = 0;
  const bool negative = !q.empty() && q[0] == '-';
  if (!q.empty() && (q[0] == '+' || q[0] == '-')) ++i;
  long double number = 0;
  bool digits = false;
  for (; i < q.size() && q[i] >= '0' && q[i] <= '9'; ++i, digits = true)
    number = number * 10 + (q[i] - '0');
  if (i < q.size() && q[i] == '.') {
    long double scale = 0.1L;
    for (++i; i < q.size() && q[i] >= '0' && q[i] <= '9'; ++i, digits = true, scale /= 10)
      number += (q[i] - '0') * scale;
  }
  if (!digits) return std::nullopt;
  auto factor = suffix_factor(q.substr(i));
  if (!factor) return std::nullopt;
  return (negative ? -number : number) * *factor;
}

}  // namespace shfn::k8s
