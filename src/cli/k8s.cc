// `shfn k8s render`: not built yet (issue 6).

#include "cli/common.h"

namespace shfn::cli {

void setup_k8s(CLI::App&, int&) {}

}  // namespace shfn::cli
