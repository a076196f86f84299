#include "schema/avro.h"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace shfn::schema::avro {

enum class kind {
  null,
  boolean,
  int32,
  int64,
  float32,
  float64,
  bytes,
  string,
  record,
  enumeration,
  array,
  map,
  fixed,
  union_of,
};

struct field {
  std::string name;
  std::vector<std::string> aliases;
  const node* type = nullptr;
  bool has_default = false;
};

struct node {
  kind k = kind::null;
  std::string name;                  // a named type's name without its namespace
  std::string full_name;             // with it
  std::vector<std::string> aliases;  // full names
  std::vector<field> fields;
  std::vector<std::string> symbols;
  std::int64_t size = 0;
  const node* items = nullptr;  // an array's items, a map's values
  std::vector<const node*> branches;
};

namespace {

using json = nlohmann::json;

constexpr std::array<std::pair<std::string_view, kind>, 8> primitives{{
    {"null", kind::null},
    {"boolean", kind::boolean},
    {"int", kind::int32},
    {"long", kind::int64},
    {"float", kind::float32},
    {"double", kind::float64},
    {"bytes", kind::bytes},
    {"string", kind::string},
}};

std::optional<kind> primitive_named(std::string_view name) {
  for (const auto& [n, k] : primitives) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string_view kind_name(kind k) {
  for (const auto& [n, pk] : primitives) {
    if (pk == k) return n;
  }
  switch (k) {
    case kind::record:
      return "record";
    case kind::enumeration:
      return "enum";
    case kind::array:
      return "array";
    case kind::map:
      return "map";
    case kind::fixed:
      return "fixed";
    default:
      return "union";
  }
}

std::string describe(const node& n) {
  if (n.full_name.empty()) return std::string(kind_name(n.k));
  return std::string(kind_name(n.k)) + " " + n.full_name;
}

struct parse_error {
  std::string message;
};

// Definitions come from any client: nesting deeper than any real schema's is refused, so neither
// the parser nor a comparison recurses without bound.
constexpr int max_depth = 64;
constexpr int max_comparison_depth = 1024;

// Counts a recursion level for as long as it lives.
class depth_guard {
 public:
  explicit depth_guard(int& depth) : depth_(++depth) {}
  ~depth_guard() { --depth_; }
  depth_guard(const depth_guard&) = delete;
  depth_guard& operator=(const depth_guard&) = delete;

 private:
  int& depth_;
};

}  // namespace

// Builds the node graph of one definition. Named types are registered before their contents are
// parsed, so a record may refer to itself; any other name must be defined before it is used.
class parser {
 public:
  explicit parser(schema& s) : schema_(s) {}

  const node& parse(const json& j, const std::string& path, const std::string& ns) {
    const depth_guard level(depth_);
    if (depth_ > max_depth) fail(path, "nested more than " + std::to_string(max_depth) + " deep");
    if (j.is_string()) return reference(j.get<std::string>(), path, ns);
    if (j.is_array()) return union_of(j, path, ns);
    if (!j.is_object()) fail(path, "a schema is a type name, an object or an array (a union)");
    const auto type = j.find("type");
    if (type == j.end()) fail(path, "has no \"type\"");
    if (!type->is_string()) return parse(*type, path + "/type", ns);
    const std::string name = type->get<std::string>();
    if (auto k = primitive_named(name)) return add({.k = *k});
    if (name == "record" || name == "error") return record(j, path, ns);
    if (name == "enum") return enumeration(j, path, ns);
    if (name == "fixed") return fixed(j, path, ns);
    if (name == "array") return container(j, kind::array, "items", path, ns);
    if (name == "map") return container(j, kind::map, "values", path, ns);
    fail(path + "/type", "unknown type \"" + name + "\"");
  }

 private:
  [[noreturn]] static void fail(const std::string& path, const std::string& what) {
    throw parse_error{(path.empty() ? std::string("/") : path) + ": " + what};
  }

  node& add(node n) {
    schema_.nodes_.push_back(std::make_unique<node>(std::move(n)));
    return *schema_.nodes_.back();
  }

  static std::string qualified(const std::string& name, const std::string& ns) {
    if (name.find('.') != std::string::npos || ns.empty()) return name;
    return ns + "." + name;
  }

  const node& reference(const std::string& name, const std::string& path, const std::string& ns) {
    if (auto k = primitive_named(name)) return add({.k = *k});
    if (auto it = named_.find(qualified(name, ns)); it != named_.end()) return *it->second;
    if (auto it = named_.find(name); it != named_.end()) return *it->second;
    fail(path, "\"" + name + "\" is neither a primitive type nor a type defined before it");
  }

  const node& union_of(const json& j, const std::string& path, const std::string& ns) {
    node n{.k = kind::union_of};
    for (std::size_t i = 0; i < j.size(); ++i) {
      const node& branch = parse(j[i], path + "/" + std::to_string(i), ns);
      if (branch.k == kind::union_of) fail(path, "a union cannot hold another union");
      n.branches.push_back(&branch);
    }
    return add(std::move(n));
  }

  // A named type: its names, registered before its contents so they can refer to it.
  node& named(const json& j, kind k, const std::string& path, const std::string& ns) {
    const auto name = j.find("name");
    if (name == j.end() || !name->is_string() || name->get<std::string>().empty()) {
      fail(path, "a " + std::string(kind_name(k)) + " needs a \"name\"");
    }
    const std::string enclosing = j.contains("namespace") && j["namespace"].is_string()
                                      ? j["namespace"].get<std::string>()
                                      : ns;
    node n{.k = k, .full_name = qualified(name->get<std::string>(), enclosing)};
    n.name = n.full_name.substr(n.full_name.rfind('.') + 1);
    for (const auto& alias : string_list(j, "aliases", path)) {
      n.aliases.push_back(qualified(alias, namespace_of(n.full_name)));
    }
    if (named_.contains(n.full_name))
      fail(path + "/name", "\"" + n.full_name + "\" is defined twice");
    node& added = add(std::move(n));
    named_[added.full_name] = &added;
    return added;
  }

  static std::string namespace_of(const std::string& full_name) {
    const auto dot = full_name.rfind('.');
    return dot == std::string::npos ? std::string() : full_name.substr(0, dot);
  }

  static std::vector<std::string> string_list(const json& j, const char* key,
                                              const std::string& path) {
    std::vector<std::string> out;
    const auto it = j.find(key);
    if (it == j.end()) return out;
    if (!it->is_array()) fail(path + "/" + key, "is a list of names");
    for (const auto& v : *it) {
      if (!v.is_string()) fail(path + "/" + key, "is a list of names");
      out.push_back(v.get<std::string>());
    }
    return out;
  }

  const node& record(const json& j, const std::string& path, const std::string& ns) {
    node& n = named(j, kind::record, path, ns);
    const auto fields = j.find("fields");
    if (fields == j.end() || !fields->is_array()) fail(path, "a record needs a \"fields\" list");
    const std::string inner = namespace_of(n.full_name);
    for (std::size_t i = 0; i < fields->size(); ++i) {
      const json& f = (*fields)[i];
      const std::string at = path + "/fields/" + std::to_string(i);
      if (!f.is_object() || !f.contains("name") || !f["name"].is_string()) {
        fail(at, "a field needs a \"name\"");
      }
      if (!f.contains("type")) fail(at, "a field needs a \"type\"");
      n.fields.push_back({.name = f["name"].get<std::string>(),
                          .aliases = string_list(f, "aliases", at),
                          .type = &parse(f["type"], at + "/type", inner),
                          .has_default = f.contains("default")});
    }
    return n;
  }

  const node& enumeration(const json& j, const std::string& path, const std::string& ns) {
    node& n = named(j, kind::enumeration, path, ns);
    if (!j.contains("symbols")) fail(path, "an enum needs \"symbols\"");
    n.symbols = string_list(j, "symbols", path);
    return n;
  }

  const node& fixed(const json& j, const std::string& path, const std::string& ns) {
    node& n = named(j, kind::fixed, path, ns);
    const auto size = j.find("size");
    if (size == j.end() || !size->is_number_integer() || size->get<std::int64_t>() < 0) {
      fail(path, "a fixed needs a \"size\" of 0 or more");
    }
    n.size = size->get<std::int64_t>();
    return n;
  }

  const node& container(const json& j, kind k, const char* key, const std::string& path,
                        const std::string& ns) {
    if (!j.contains(key)) fail(path, "a " + std::string(kind_name(k)) + " needs \"" + key + "\"");
    const node& inner = parse(j[key], path + "/" + key, ns);
    return add({.k = k, .items = &inner});
  }

  schema& schema_;
  std::map<std::string, const node*> named_;
  int depth_ = 0;
};

schema::schema(schema&&) noexcept = default;
schema& schema::operator=(schema&&) noexcept = default;
schema::~schema() = default;

tl::expected<schema, std::string> schema::parse(std::string_view definition) {
  const json j = json::parse(definition, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return tl::unexpected(std::string("the definition is not JSON"));
  schema s;
  try {
    parser p(s);
    s.root_ = &p.parse(j, "", "");
  } catch (const parse_error& e) {
    return tl::unexpected(e.message);
  }
  return s;
}

namespace {

// One reader/writer comparison, with the pairs already under comparison (a recursive record
// compared with itself is compatible unless something else says otherwise).
class resolver {
 public:
  std::optional<std::string> check(const node& r, const node& w, const std::string& path) {
    const depth_guard level(depth_);
    if (depth_ > max_comparison_depth) return at(path, "the schemas are too deep to compare");
    if (!in_progress_.insert({&r, &w}).second) return std::nullopt;
    auto why = compare(r, w, path);
    in_progress_.erase({&r, &w});
    return why;
  }

 private:
  std::optional<std::string> compare(const node& r, const node& w, const std::string& path) {
    if (w.k == kind::union_of) {
      for (std::size_t i = 0; i < w.branches.size(); ++i) {
        if (auto why = check(r, *w.branches[i], path)) return why;
      }
      return std::nullopt;
    }
    if (r.k == kind::union_of) {
      for (const node* branch : r.branches) {
        if (!check(*branch, w, path)) return std::nullopt;
      }
      return at(path, "no branch of the reader's union can read the writer's " + describe(w));
    }
    if (r.k != w.k) {
      if (promotes(w.k, r.k)) return std::nullopt;
      return at(path, "the reader's " + describe(r) + " cannot read the writer's " + describe(w));
    }
    switch (r.k) {
      case kind::record:
        return records(r, w, path);
      case kind::enumeration:
        return enumerations(r, w, path);
      case kind::fixed:
        if (auto why = names(r, w, path)) return why;
        if (r.size != w.size) return at(path, "fixed " + r.full_name + " changed its size");
        return std::nullopt;
      case kind::array:
        return check(*r.items, *w.items, path + "/items");
      case kind::map:
        return check(*r.items, *w.items, path + "/values");
      default:
        return std::nullopt;  // the same primitive
    }
  }

  static bool promotes(kind writer, kind reader) {
    switch (writer) {
      case kind::int32:
        return reader == kind::int64 || reader == kind::float32 || reader == kind::float64;
      case kind::int64:
        return reader == kind::float32 || reader == kind::float64;
      case kind::float32:
        return reader == kind::float64;
      case kind::string:
        return reader == kind::bytes;
      case kind::bytes:
        return reader == kind::string;
      default:
        return false;
    }
  }

  static std::optional<std::string> names(const node& r, const node& w, const std::string& path) {
    if (r.name == w.name || std::ranges::find(r.aliases, w.full_name) != r.aliases.end()) {
      return std::nullopt;
    }
    return at(path, "the reader's " + describe(r) + " does not match the writer's " + describe(w) +
                        " by name or alias");
  }

  // Records match by structure alone, not by name: a renamed class still reads its old data.
  std::optional<std::string> records(const node& r, const node& w, const std::string& path) {
    for (const field& rf : r.fields) {
      const std::string at_field = path + "/" + rf.name;
      if (const field* wf = writer_field(rf, w)) {
        if (auto why = check(*rf.type, *wf->type, at_field)) return why;
      } else if (!rf.has_default) {
        return at(at_field, "the reader's field \"" + rf.name +
                                "\" has no default and the writer has no such field");
      }
    }
    return std::nullopt;
  }

  static const field* writer_field(const field& rf, const node& w) {
    for (const field& wf : w.fields) {
      if (wf.name == rf.name) return &wf;
    }
    for (const field& wf : w.fields) {
      if (std::ranges::find(rf.aliases, wf.name) != rf.aliases.end()) return &wf;
    }
    return nullptr;
  }

  // An enum is matched by name; its symbols are not compared: a symbol the reader lacks is an
  // error only when such a value is read, and Pulsar's check does not look that far.
  static std::optional<std::string> enumerations(const node& r, const node& w,
                                                 const std::string& path) {
    return names(r, w, path);
  }

  static std::string at(const std::string& path, const std::string& what) {
    return (path.empty() ? std::string("/") : path) + ": " + what;
  }

  std::set<std::pair<const node*, const node*>> in_progress_;
  int depth_ = 0;
};

}  // namespace

std::optional<std::string> cannot_read(const schema& reader, const schema& writer) {
  return resolver().check(reader.root(), writer.root(), "");
}

}  // namespace shfn::schema::avro
