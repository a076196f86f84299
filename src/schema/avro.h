#pragma once
// Avro schemas, as far as Pulsar's schema registry needs them: parse a schema definition (the
// JSON text an AVRO or JSON schema carries), and decide whether data written with one schema can
// be read with another, by Avro's schema resolution (the Avro specification, "Schema
// Resolution") as Pulsar applies it (Avro's resolving grammar, checked for errors): the same
// primitive or a promotion of it (int to long, float or double; long to float or double; float
// to double; string and bytes both ways); records by structure, whatever their names, each
// reader field found in the writer (by name or alias) or given a default; enums and fixed by
// name (an enum's symbols are not compared, a fixed's size is); arrays and maps by their items;
// unions branch by branch.
//
// Pure: no I/O, no state beyond the parsed schema.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace shfn::schema::avro {

struct node;

class schema {
 public:
  // The schema a definition describes, or what is wrong with it (with the JSON path).
  static tl::expected<schema, std::string> parse(std::string_view definition);

  schema(schema&&) noexcept;
  schema& operator=(schema&&) noexcept;
  ~schema();

  const node& root() const { return *root_; }

 private:
  friend class parser;
  schema() = default;

  std::vector<std::unique_ptr<node>> nodes_;  // every node; they refer to each other by pointer
  const node* root_ = nullptr;
};

// Why data written with `writer` cannot be read with `reader`, or nullopt when it can.
std::optional<std::string> cannot_read(const schema& reader, const schema& writer);

}  // namespace shfn::schema::avro
