#pragma once
// Base64 (RFC 4648): the standard alphabet (section 4) and the URL-safe one (section 5).
//
// Decoding is strict by default, so that one text means one byte string: padding optional but
// where the length calls for it, nothing outside the alphabet (whitespace included), leftover bits
// zero. A reader whose format relaxes a rule says which in base64_decode_options (Knative decodes
// a PingSource's dataBase64 as Go's base64.StdEncoding does: padding required, leftover bits
// ignored). A refused text says where it went wrong, for a message that points at it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "base/bytes.h"

namespace shfn {

enum class base64_alphabet {
  standard,  // A-Z a-z 0-9 + /
  url,       // A-Z a-z 0-9 - _ (JSON Web Tokens, file names)
};

struct base64_encode_options {
  base64_alphabet alphabet = base64_alphabet::standard;
  bool padding = true;  // '=' up to a multiple of four characters (JSON Web Tokens have none)
};

struct base64_decode_options {
  base64_alphabet alphabet = base64_alphabet::standard;
  bool require_padding = false;       // '=' up to a multiple of four characters
  bool skip_whitespace = false;       // spaces, tabs and line breaks anywhere are skipped
  bool ignore_leftover_bits = false;  // the last character's bits that make no byte may be set
};

struct base64_error {
  enum class kind {
    character,      // at `offset`: a character outside the alphabet, or '=' before the end
    length,         // `characters` (padding included, whitespace skipped) is no Base64 length:
                    // not a multiple of 4 where padding is given or required, or 4n+1
    leftover_bits,  // at `offset`: the last character has bits set that make no byte
  };
  kind what = kind::character;
  std::size_t offset = 0;      // in the text as given, whitespace included; kind::length: its size
  std::size_t characters = 0;  // kind::length
};

std::string base64_encode(byte_view data, const base64_encode_options& options = {});

tl::expected<bytes, base64_error> base64_decode(std::string_view text,
                                                const base64_decode_options& options);
// The strict default: nullopt for any error.
std::optional<bytes> base64_decode(std::string_view text);

}  // namespace shfn
