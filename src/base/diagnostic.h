#pragma once
// What a reader of text a user wrote reports: where (the file, a 1-based line and column), which
// field, and what is wrong. One shape for every such reader (spec files, flow test files, the
// attribute filters in them), printed one way: "FILE:LINE:COL: FIELD: MESSAGE", as a compiler
// does, so that editors and people find the place alike.
//
// Plain values; any thread.

#include <string>
#include <vector>

namespace shfn {

struct text_location {
  std::string file;  // as the user gave it
  int line = 0;      // 1-based; 0 when the error concerns the whole file (e.g. it cannot be read)
  int column = 0;    // 1-based; 0 when unknown

  bool operator==(const text_location&) const = default;
};

struct diagnostic {
  text_location where;
  std::string field;  // dotted path: "reverse.spec.timeoutMs", "spec.inputs[1]"; may be empty
  std::string message;

  // "FILE:LINE:COL: FIELD: MESSAGE"; the line/column and field parts are left out when unknown.
  std::string to_string() const;
};

// In file order, as a compiler reports them; those at one place keep the order they were found in.
void sort_in_file_order(std::vector<diagnostic>& diagnostics);

}  // namespace shfn
