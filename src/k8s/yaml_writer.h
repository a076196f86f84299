#pragma once
// A small YAML writer for the manifests `shfn k8s render` emits: a tree of maps (in insertion
// order), sequences and scalars, written in kubectl's block style.
//
// Why not yaml-cpp's emitter: its literal blocks (0.7) do not keep a script's trailing newlines
// byte for byte, and it writes strings such as "true", "on" or "8081" bare, which Kubernetes'
// YAML 1.1 reader turns into a boolean or a number. Here every string reads back as the same
// string under YAML 1.1 and 1.2: bare only when nothing else can be read into it, as a literal
// block (`|`, with chomping and indentation indicators) when it is multi-line text, otherwise
// double-quoted with escapes.
//
// Pure functions and values; no I/O, no shared state.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shfn::k8s::yaml {

class node {
 public:
  node(std::string s) : kind_(kind::string), text_(std::move(s)) {}
  node(const char* s) : node(std::string(s)) {}
  node(std::string_view s) : node(std::string(s)) {}
  node(std::int64_t i) : kind_(kind::scalar), text_(std::to_string(i)) {}
  node(int i) : node(static_cast<std::int64_t>(i)) {}
  node(bool b) : kind_(kind::scalar), text_(b ? "true" : "false") {}

  static node map() { return node(kind::map); }
  static node seq() { return node(kind::seq); }

  // Appends an entry to a map (keys are written in the order added).
  node& add(std::string key, node value);
  // Appends an item to a sequence.
  node& push(node value);
  // A comment written after a scalar, on its line: "defaultMode: 365  # 0555".
  node& comment(std::string text);

  friend std::string write(const node& document, std::string_view header_comment,
                           bool document_marker);

 private:
  enum class kind { string, scalar, map, seq };  // scalar: a number or boolean, written bare
  explicit node(kind k) : kind_(k) {}

  void write_map(std::string& out, int indent) const;
  void write_seq(std::string& out, int indent) const;
  void write_value(std::string& out, int indent) const;  // after "key:" or "- "

  kind kind_;
  std::string text_;
  std::string comment_;
  std::vector<std::pair<std::string, node>> entries_;
  std::vector<node> items_;
};

// One document: "---", then the tree. `header_comment` (may hold several lines) goes first, as
// "# " lines, before the "---".
std::string write(const node& document, std::string_view header_comment = {},
                  bool document_marker = true);

// Whether `s` can be written bare and read back as the same string by YAML 1.1 and 1.2 readers.
bool plain_safe(std::string_view s);
// Whether `s` can be a literal block scalar, byte for byte.
bool literal_safe(std::string_view s);
// The double-quoted form of `s` (valid UTF-8 expected; an invalid byte is written as U+FFFD).
std::string double_quoted(std::string_view s);

bool valid_utf8(std::string_view s);

}  // namespace shfn::k8s::yaml
