#pragma once
// shfn's version, from the project's CMakeLists.txt: what `shfn --version` prints, what the
// client and the broker name themselves on the wire, and what the admin APIs report.

#include <string_view>

namespace shfn {

std::string_view version();

}  // namespace shfn
