#pragma once
// What a spec file's loader reports: base's diagnostic (base/diagnostic.h: file, line, column,
// field, message), under the names the modules that load specs have always used for it.

#include "base/diagnostic.h"

namespace shfn::config {

using location = text_location;
using spec_error = diagnostic;

}  // namespace shfn::config
