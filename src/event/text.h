#pragma once
// Text helpers the CloudEvents codecs share: what a CloudEvents String may hold and quoting
// values for error messages; UTF-8, Base64 and the ASCII helpers are base's, named here too.
// Internal to src/event.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/base64.h"
#include "base/bytes.h"
#include "base/strings.h"
#include "base/unicode.h"

namespace shfn::event {

using shfn::base64_decode;
using shfn::base64_encode;
using shfn::iequals;
using shfn::is_utf8;
using shfn::istarts_with;
using shfn::trim;

// Why `value` is not a CloudEvents String (invalid UTF-8, a control character, a Unicode
// noncharacter), or nullopt when it is one.
std::optional<std::string> string_problem(std::string_view value);

// `text` in double quotes for a message: quotes, backslashes and bytes that are not printable
// ASCII or valid UTF-8 escaped, shortened past 60 characters.
std::string quote(std::string_view text);

}  // namespace shfn::event
