#pragma once
// The image module's error: one sentence for the user, naming the file, package or command at
// fault. Building an image runs once, at the command line, so errors carry text rather than a
// std::error_code: what failed matters more than which category it belongs to.

#include <string>
#include <tl/expected.hpp>

namespace shfn::image {

struct error {
  std::string message;
};

template <class T>
using outcome = tl::expected<T, error>;

inline tl::unexpected<error> fail(std::string message) {
  return tl::unexpected<error>(error{std::move(message)});
}

}  // namespace shfn::image
