#include "base/base64.h"

#include <array>
#include <cstdint>

namespace shfn {
namespace {

constexpr std::string_view standard_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

using value_table = std::array<std::int8_t, 256>;

// Each byte's value in `alphabet`, -1 for bytes outside it.
constexpr value_table values_of(std::string_view alphabet) {
  value_table t{};
  for (auto& v : t) v = -1;
  for (std::size_t k = 0; k < alphabet.size(); ++k)
    t[static_cast<unsigned char>(alphabet[k])] = static_cast<std::int8_t>(k);
  return t;
}

constexpr value_table standard_values = values_of(standard_alphabet);
constexpr value_table url_values = values_of(url_alphabet);

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

tl::unexpected<base64_error> refused(base64_error::kind what, std::size_t offset,
                                     std::size_t characters = 0) {
  return tl::unexpected(base64_error{.what = what, .offset = offset, .characters = characters});
}

}  // namespace

std::string base64_encode(byte_view data, const base64_encode_options& options) {
  const std::string_view alphabet =
      options.alphabet == base64_alphabet::url ? url_alphabet : standard_alphabet;
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                            std::uint32_t{data[i + 2]};
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = data.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{data[i]} << 16;
    if (rest == 2) v |= std::uint32_t{data[i + 1]} << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (options.padding) out.append(3 - rest, '=');
  }
  return out;
}

tl::expected<bytes, base64_error> base64_decode(std::string_view text,
                                                const base64_decode_options& options) {
  const value_table& value =
      options.alphabet == base64_alphabet::url ? url_values : standard_values;
  const auto skipped = [&](char c) { return options.skip_whitespace && is_space(c); };
  // The characters that count, and how many of the last ones are padding: at most two '='.
  std::size_t characters = 0;
  for (char c : text) characters += skipped(c) ? 0 : 1;
  std::size_t padding = 0;
  for (std::size_t i = text.size(); i > 0 && padding < 2; --i) {
    if (skipped(text[i - 1])) continue;
    if (text[i - 1] != '=') break;
    ++padding;
  }
  const std::size_t data = characters - padding;
  const bool padded_length = options.require_padding || padding > 0;
  if ((padded_length && characters % 4 != 0) || data % 4 == 1)
    return refused(base64_error::kind::length, text.size(), characters);

  bytes out;
  out.reserve(data / 4 * 3 + 2);
  std::uint32_t bits = 0;
  int count = 0;
  std::size_t seen = 0;
  std::size_t last = 0;
  for (std::size_t i = 0; i < text.size() && seen < data; ++i) {
    const char c = text[i];
    if (skipped(c)) continue;
    const auto v = value[static_cast<unsigned char>(c)];
    if (v < 0) return refused(base64_error::kind::character, i);
    ++seen;
    last = i;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<std::uint8_t>(bits >> count));
    }
  }
  if (!options.ignore_leftover_bits && (bits & ((1u << count) - 1)) != 0)
    return refused(base64_error::kind::leftover_bits, last);
  return out;
}

std::optional<bytes> base64_decode(std::string_view text) {
  auto decoded = base64_decode(text, base64_decode_options{});
  if (!decoded) return std::nullopt;
  return std::move(*decoded);
}

}  // namespace shfn
