#pragma once
// Internal: what spec.cc hands to the parser of each kind, and the parsers. Adding a kind means a
// parse function here, its file, and one line in spec.cc's kind table.

#include <filesystem>
#include <optional>
#include <string>

#include "config/function.h"
#include "config/reader.h"

namespace shfn::config {

// One document whose header (kind, metadata) has been read.
struct document {
  std::string name;                // metadata.name; empty when missing or invalid
  location where;                  // the document's first key
  field spec;                      // the `spec` value (present and non-null)
  std::filesystem::path base_dir;  // absolute: relative paths in the spec start here
};

// Every error is reported to doc.spec.diags(); the result is only meaningful if none was.
function_spec parse_function(const document& doc);

}  // namespace shfn::config
