#pragma once
// What a spec file's loader reports: where (file, 1-based line and column), which field, what.

#include <string>

namespace shfn::config {

struct location {
  std::string file;
  int line = 0;    // 1-based; 0 when the error concerns the whole file (e.g. it cannot be read)
  int column = 0;  // 1-based; 0 when unknown
};

struct spec_error {
  location where;
  std::string field;  // dotted path: "reverse.spec.timeoutMs", "spec.inputs[1]"; may be empty
  std::string message;

  // "FILE:LINE:COL: FIELD: MESSAGE"; the line/column and field parts are left out when unknown.
  std::string to_string() const;
};

}  // namespace shfn::config
