#pragma once
// One error model for all of shfn: result<T> carries a value or a std::error_code.
// Aliased here so it can become std::expected without touching call sites.

#include <system_error>
#include <tl/expected.hpp>

namespace shfn {

template <class T>
using result = tl::expected<T, std::error_code>;

using tl::unexpected;

// Shorthand for returning an error from a function that yields result<T>.
inline unexpected<std::error_code> fail(std::error_code ec) {
  return unexpected<std::error_code>(ec);
}

template <class E>
requires std::is_error_code_enum_v<E>
inline unexpected<std::error_code> fail(E e) {
  return unexpected<std::error_code>(make_error_code(e));
}

}  // namespace shfn
