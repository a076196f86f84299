#pragma once
// The executor's descriptors are base's owning unique_fd.

#include "base/unique_fd.h"

namespace shfn::exec {
using shfn::unique_fd;
}  // namespace shfn::exec
