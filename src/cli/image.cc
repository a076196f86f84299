// `shfn image build`: not built yet (issue 6).

#include "cli/common.h"

namespace shfn::cli {

void setup_image(CLI::App&, int&) {}

}  // namespace shfn::cli
