#pragma once
// The documents of a multi-document YAML text as they are written, comments and all, so that
// one document of a spec file can go into a ConfigMap unchanged (a re-emitted YAML tree would
// lose the comments, and the quoting that tells "42" from 42).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shfn::k8s {

struct document_text {
  std::string text;    // from its "---" line (if any) to the next document's
  int first_line = 1;  // 1-based line of `text` in the whole file
};

// Splits at document markers: lines starting with "---" or "..." followed by white space or
// the end of the line (YAML forbids those at column 0 inside a document). A leading part with
// comments only (a file's header) stays with the first document; other documents without
// content are left out.
std::vector<document_text> split_documents(std::string_view yaml);

// The document whose metadata.name is `name`, or nullopt.
std::optional<document_text> document_named(std::string_view yaml, std::string_view name);

}  // namespace shfn::k8s
