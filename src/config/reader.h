#pragma once
// The generic layer between yaml-cpp and the kinds. Every read records where its value came from
// (line, column, dotted field path), reports what is wrong to a `diagnostics` and carries on, so a
// file's errors are all collected in one pass. Mappings are read against the list of keys the
// caller knows; any other key is reported, with a "did you mean" when one is close.
//
// Load time only, one thread. Nothing here throws: yaml-cpp's accessors used are the non-throwing
// ones (Type, Tag, Scalar, Mark, iteration).

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "config/error.h"

namespace shfn::config {

// The errors of one file, in the order found.
class diagnostics {
 public:
  explicit diagnostics(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  // The text being read, for pointing inside a scalar (field::where_at); empty when unknown.
  // It must outlive this object's use.
  void set_source(std::string_view text) { source_ = text; }
  std::string_view source() const { return source_; }
  location at(const YAML::Mark& mark) const;
  void error(const YAML::Mark& mark, std::string field, std::string message);
  void error(location where, std::string field, std::string message);
  std::size_t count() const { return errors_.size(); }
  std::vector<spec_error> take() { return std::move(errors_); }

 private:
  std::string file_;
  std::string_view source_;
  std::vector<spec_error> errors_;
};

// A YAML file read whole for loading: its text and the absolute directory relative paths in it
// start from. Errors (a directory, over 16 MiB, unreadable) name the file; `what` says what it
// should have been ("a spec file").
struct file_text {
  std::string text;
  std::string base_dir;
};
tl::expected<file_text, std::vector<spec_error>> read_file_text(const std::string& path,
                                                                std::string_view what);
// The absolute, normal form of a base directory given by a caller ("" is the current one).
std::string absolute_dir(const std::string& dir);

// What a node is, for "expected X, got Y" messages: "a mapping", "a list", "null", "\"abc\"".
std::string describe(const YAML::Node& node);

// A value quoted for a message: escaped, and shortened past 60 characters.
std::string quote(std::string_view text);

// The candidate closest to `word` (case-insensitive edit distance, transpositions count one) when
// within 2 edits, or a fifth of the word's length for long words ("maxMessageRetry" is 3 edits
// from "maxMessageRetries"), and closer than the word's own length; empty otherwise.
std::string_view suggest(std::string_view word, std::span<const std::string_view> candidates);

// " (did you mean \"x\"?)" or empty.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

// One spelling of an enumerated value, as written in specs (matched case-insensitively).
template <class E>
struct choice {
  std::string_view spelling;
  E value;
};

class mapping;

// A value in the document: its node, where to point at it, and its dotted path.
// Its assignment cannot throw: YAML::Node's throws only for an invalid node (a missing key's),
// which a field never holds.
class field {  // NOLINT(bugprone-exception-escape)
 public:
  field(diagnostics& diags, YAML::Node node, YAML::Mark mark, std::string path)
      : diags_(&diags), node_(node), mark_(mark), path_(std::move(path)) {}  // Node cannot move

  const YAML::Node& node() const { return node_; }
  const YAML::Mark& mark() const { return mark_; }
  const std::string& path() const { return path_; }
  location where() const { return diags_->at(mark_); }
  diagnostics& diags() const { return *diags_; }
  bool is_scalar() const { return node_.IsScalar(); }
  bool is_list() const { return node_.IsSequence(); }
  bool is_mapping() const { return node_.IsMap(); }

  // Reports an error at this field.
  void error(std::string message) const;
  // Where the character at `offset` of this scalar's value is, for an error about a part of it
  // (a cron field): exact for a plain or quoted scalar on one line without escapes, else the
  // value's start.
  location where_at(std::size_t offset) const;

  // A path below this one: "a.b" for a key, "a[3]" for an index.
  std::string child_path(std::string_view key) const;
  std::string index_path(std::size_t index) const;

  // Typed reads: nullopt, with an error reported, when the value is of another type or range.
  std::optional<std::string> as_string() const;  // any scalar's text
  std::optional<std::int64_t> as_int(std::int64_t min, std::int64_t max) const;
  std::optional<bool> as_bool() const;  // true/false (YAML 1.2: not yes/no/on/off)
  std::optional<std::vector<field>> as_list() const;
  // A mapping whose keys must be among `known` (others are reported; so are duplicate keys).
  std::optional<mapping> as_mapping(std::vector<std::string_view> known) const;
  // A free-form mapping (names chosen by the user): (key, value) pairs in document order;
  // non-scalar and duplicate keys are reported and left out.
  std::optional<std::vector<std::pair<field, field>>> as_entries() const;
  // Any value as JSON: plain scalars by the YAML 1.2 core schema (null, bool, int, float), quoted
  // or !!str-tagged scalars as strings; mappings must have scalar keys.
  std::optional<nlohmann::json> as_json() const;

  // One of `choices`, matched case-insensitively; the error lists them and suggests the closest.
  template <class E>
  std::optional<E> as_choice(std::span<const choice<E>> choices) const {
    auto text = as_string();
    if (!text) return std::nullopt;
    std::vector<std::string_view> spellings;
    for (const auto& c : choices) {
      if (iequals(c.spelling, *text)) return c.value;
      spellings.push_back(c.spelling);
    }
    report_bad_choice(*text, spellings);
    return std::nullopt;
  }

 private:
  void report_bad_choice(const std::string& text,
                         std::span<const std::string_view> spellings) const;

  diagnostics* diags_;
  YAML::Node node_;
  YAML::Mark mark_;
  std::string path_;
};

// A mapping read against its known keys. Keys are case-sensitive, as in Kubernetes.
class mapping {
 public:
  mapping(field self, std::vector<std::string_view> known);

  const field& self() const { return self_; }
  // The value of `key`, which must be one of the known keys. A null value counts as absent (as in
  // Kubernetes), so `output:` with nothing after it means "no output".
  std::optional<field> get(std::string_view key) const;
  // Like get(), and reports "required field is missing" at this mapping when absent.
  std::optional<field> require(std::string_view key) const;
  // Reports an error about this mapping as a whole ("one of a or b is required").
  void error(std::string message) const { self_.error(std::move(message)); }

 private:
  field self_;
  std::vector<std::string_view> known_;
};

// A topic name, expanded as Pulsar does (`foo` -> persistent://public/default/foo); an error
// names the forms a topic may take.
std::optional<std::string> read_topic(const field& f);

}  // namespace shfn::config
