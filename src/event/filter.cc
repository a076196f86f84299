#include "event/filter.h"

#include <algorithm>
#include <optional>

#include "event/filter_grammar.h"
#include "event/text.h"

namespace shfn::event {
namespace {

using json = nlohmann::json;

enum class outcome { pass, fail, no_filter };

// Knative's FilterResult algebra: "no filter" is neutral for and/or and its own negation.
outcome both(outcome x, outcome y) {
  if (x == outcome::no_filter) return y;
  if (y == outcome::no_filter) return x;
  return x == outcome::pass && y == outcome::pass ? outcome::pass : outcome::fail;
}

outcome either(outcome x, outcome y) {
  if (x == outcome::no_filter) return y;
  if (y == outcome::no_filter) return x;
  return x == outcome::pass || y == outcome::pass ? outcome::pass : outcome::fail;
}

template <class Test>
outcome each_attribute(const filter& f, const cloud_event& e, Test test) {
  for (const auto& [name, wanted] : f.attributes) {
    const auto value = attribute(e, name);
    if (!value || !test(*value, std::string_view(wanted))) return outcome::fail;
  }
  return outcome::pass;
}

outcome evaluate(const filter& f, const cloud_event& e) {
  switch (f.what) {
    case filter::kind::none:
      return outcome::no_filter;
    case filter::kind::exact:
      return each_attribute(f, e, [](auto v, auto w) { return v == w; });
    case filter::kind::prefix:
      return each_attribute(f, e, [](auto v, auto w) { return v.starts_with(w); });
    case filter::kind::suffix:
      return each_attribute(f, e, [](auto v, auto w) { return v.ends_with(w); });
    case filter::kind::all: {
      outcome r = outcome::no_filter;
      for (const auto& child : f.children) {
        r = both(r, evaluate(child, e));
        if (r == outcome::fail) break;
      }
      return r;
    }
    case filter::kind::any: {
      outcome r = outcome::no_filter;
      for (const auto& child : f.children) {
        r = either(r, evaluate(child, e));
        if (r == outcome::pass) break;
      }
      return r;
    }
    case filter::kind::not_: {
      const outcome r = f.children.empty() ? outcome::no_filter : evaluate(f.children[0], e);
      if (r == outcome::no_filter) return r;
      return r == outcome::pass ? outcome::fail : outcome::pass;
    }
    case filter::kind::cesql:
      return f.expression && f.expression->passes(e) ? outcome::pass : outcome::fail;
  }
  return outcome::fail;
}

std::string_view dialect_name(filter::kind k) {
  switch (k) {
    case filter::kind::exact:
      return "exact";
    case filter::kind::prefix:
      return "prefix";
    case filter::kind::suffix:
      return "suffix";
    case filter::kind::all:
      return "all";
    case filter::kind::any:
      return "any";
    case filter::kind::not_:
      return "not";
    case filter::kind::cesql:
      return "cesql";
    case filter::kind::none:
      break;
  }
  return "";
}

const char* describe(const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      return "a mapping";
    case json::value_t::array:
      return "a list";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

class json_mapping;
using problem = event::error;

// A JSON value read as config/reader.h's `field` reads YAML, for filter_grammar.h: each error is
// kept with its field path ("all[1].exact"). A key of a mapping is read as a string of its own.
class json_reader {
 public:
  json_reader(const json& value, std::string path, std::vector<problem>& errors,
              const std::string* key = nullptr)
      : value_(&value), path_(std::move(path)), errors_(&errors), key_(key) {}

  const std::string& path() const { return path_; }
  const json& value() const { return *value_; }

  void error(std::string message) const {
    errors_->push_back(problem{errc::invalid_filter, std::move(message), path_});
  }

  std::optional<std::string> as_string() const {
    if (key_) return *key_;
    if (!value_->is_string()) {
      error(std::string("expected a string, got ") + describe(*value_));
      return std::nullopt;
    }
    return value_->get<std::string>();
  }

  std::optional<std::vector<json_reader>> as_list() const {
    if (!value_->is_array()) {
      error(std::string("expected a list, got ") + describe(*value_));
      return std::nullopt;
    }
    std::vector<json_reader> items;
    for (std::size_t i = 0; i < value_->size(); ++i)
      items.emplace_back((*value_)[i], path_ + "[" + std::to_string(i) + "]", *errors_);
    return items;
  }

  std::optional<std::vector<std::pair<json_reader, json_reader>>> as_entries() const {
    if (!value_->is_object()) {
      error(std::string("expected a mapping, got ") + describe(*value_));
      return std::nullopt;
    }
    std::vector<std::pair<json_reader, json_reader>> out;
    for (auto it = value_->begin(); it != value_->end(); ++it) {
      // key() refers into the object, which outlives the readers.
      const std::string& key = it.key();
      out.emplace_back(json_reader(*value_, child_path(key), *errors_, &key),
                       json_reader(it.value(), child_path(key), *errors_));
    }
    return out;
  }

  std::optional<json_mapping> as_mapping(std::vector<std::string_view> known) const;

  json_reader child(const json& value, std::string path) const {
    return json_reader(value, std::move(path), *errors_);
  }
  std::string child_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

 private:
  const json* value_;
  std::string path_;
  std::vector<problem>* errors_;
  const std::string* key_;  // a mapping's key, read as its text
};

// Unlike a spec file's mapping, a JSON null is a value here (reported as the wrong type), not an
// absent key.
class json_mapping {
 public:
  explicit json_mapping(json_reader self) : self_(std::move(self)) {}

  std::optional<json_reader> get(std::string_view key) const {
    const auto it = self_.value().find(std::string(key));
    if (it == self_.value().end()) return std::nullopt;
    return self_.child(*it, self_.child_path(key));
  }
  void error(std::string message) const { self_.error(std::move(message)); }

 private:
  json_reader self_;
};

std::optional<json_mapping> json_reader::as_mapping(std::vector<std::string_view> known) const {
  if (!value_->is_object()) {
    error(std::string("expected a mapping, got ") + describe(*value_));
    return std::nullopt;
  }
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      child(it.value(), child_path(it.key())).error("unknown field");
  }
  return json_mapping(*this);
}

// The first error of a read, or the value.
template <class T>
event_result<T> first_error(std::optional<T> value, std::vector<problem>& errors) {
  if (!errors.empty()) return tl::unexpected(std::move(errors.front()));
  if (!value) return fail_with(errc::invalid_filter, "invalid filter");  // not reached
  return std::move(*value);
}

}  // namespace

bool matches(const filter& f, const cloud_event& e) {
  return evaluate(f, e) != outcome::fail;
}

event_result<filter> parse_filter(const nlohmann::json& j) {
  std::vector<problem> errors;
  auto f = read_filter(json_reader(j, "", errors), filter_rules{});
  return first_error(std::move(f), errors);
}

event_result<filter> parse_filters(const nlohmann::json& j) {
  std::vector<problem> errors;
  std::optional<filter> all = filter{.what = filter::kind::all};
  if (auto items = json_reader(j, "", errors).as_list()) {
    for (const auto& item : *items) {
      if (auto f = read_filter(item, filter_rules{}, 1)) all->children.push_back(std::move(*f));
    }
  }
  return first_error(std::move(all), errors);
}

nlohmann::json as_json(const filter& f) {
  json out = json::object();
  switch (f.what) {
    case filter::kind::none:
      break;
    case filter::kind::exact:
    case filter::kind::prefix:
    case filter::kind::suffix: {
      json attributes = json::object();
      for (const auto& [name, value] : f.attributes) attributes[name] = value;
      out[std::string(dialect_name(f.what))] = std::move(attributes);
      break;
    }
    case filter::kind::all:
    case filter::kind::any: {
      json list = json::array();
      for (const auto& child : f.children) list.push_back(as_json(child));
      out[std::string(dialect_name(f.what))] = std::move(list);
      break;
    }
    case filter::kind::not_:
      out["not"] = f.children.empty() ? json::object() : as_json(f.children[0]);
      break;
    case filter::kind::cesql:
      out["cesql"] = f.expression ? f.expression->text() : std::string();
      break;
  }
  return out;
}

bool filter::operator==(const filter& other) const {
  const auto text = [](const filter& f) { return f.expression ? f.expression->text() : ""; };
  return what == other.what && attributes == other.attributes && children == other.children &&
         text(*this) == text(other);
}

bool is_filter_dialect(std::string_view key) {
  return std::find(std::begin(filter_dialects), std::end(filter_dialects), key) !=
         std::end(filter_dialects);
}

std::optional<std::string> filter_attribute_problem(std::string_view name) {
  if (name == "data") return "\"data\" is the event's payload, not an attribute";
  const bool ok = !name.empty() && name[0] >= 'a' && name[0] <= 'z' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                  });
  if (ok) return std::nullopt;
  return "invalid attribute name " + quote(name) +
         ": expected lower-case letters and digits, starting with a letter";
}

std::string two_dialects_message(std::string_view a, std::string_view b) {
  return "a filter has one dialect, not both " + std::string(a) + " and " + std::string(b) +
         ": combine filters with all: [...]";
}

}  // namespace shfn::event
