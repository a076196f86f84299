#include "base/version.h"

namespace shfn {

std::string_view version() {
  return SHFN_VERSION;
}

}  // namespace shfn
