#include "event/filter.h"

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
  }
  return outcome::fail;
}

std::string child_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index_path(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

tl::unexpected<error> bad(std::string path, std::string message) {
  return fail_with(errc::invalid_filter, std::move(message), std::move(path));
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

// Knative: "Attribute name must start with a letter and can only contain lowercase alphanumeric".
bool is_filter_attribute_name(std::string_view name) {
  return is_valid_attribute_name(name) && name[0] >= 'a' && name[0] <= 'z';
}

event_result<filter> parse(const json& j, const std::string& path, int depth);

event_result<void> parse_attributes(filter& f, const json& j, const std::string& path) {
  if (!j.is_object() || j.empty()) {
    return bad(path, std::string("expected a mapping of attribute to string, got ") +
                         (j.is_object() ? "an empty mapping" : describe(j)));
  }
  for (const auto& [name, value] : j.items()) {
    const auto field = child_path(path, name);
    if (!is_filter_attribute_name(name)) {
      return bad(field, "invalid attribute name " + quote(name) +
                            ": it must start with a letter and contain only lower-case letters "
                            "and digits");
    }
    if (!value.is_string())
      return bad(field, std::string("expected a string, got ") + describe(value));
    if (value.get_ref<const std::string&>().empty()) return bad(field, "value must not be empty");
    f.attributes.emplace_back(name, value.get<std::string>());
  }
  return {};
}

event_result<void> parse_list(filter& f, const json& j, const std::string& path, int depth) {
  if (!j.is_array())
    return bad(path, std::string("expected a list of filters, got ") + describe(j));
  for (std::size_t i = 0; i < j.size(); ++i) {
    auto child = parse(j[i], index_path(path, i), depth + 1);
    if (!child) return tl::unexpected(child.error());
    f.children.push_back(std::move(*child));
  }
  return {};
}

event_result<filter> parse(const json& j, const std::string& path, int depth) {
  if (depth > max_filter_depth) {
    return bad(path, "filters nested deeper than " + std::to_string(max_filter_depth) + " levels");
  }
  if (!j.is_object())
    return bad(path, std::string("expected a filter mapping, got ") + describe(j));
  filter f;
  if (j.empty()) return f;
  if (j.size() > 1) {
    return bad(path,
               "multiple dialects found: a filter has exactly one of exact, prefix, suffix, "
               "all, any, not");
  }
  const auto only = j.begin();
  const std::string& key = only.key();
  const json& value = only.value();
  const auto field = child_path(path, key);
  if (key == "exact" || key == "prefix" || key == "suffix") {
    f.what = key == "exact" ? filter::kind::exact
                            : (key == "prefix" ? filter::kind::prefix : filter::kind::suffix);
    if (auto ok = parse_attributes(f, value, field); !ok) return tl::unexpected(ok.error());
  } else if (key == "all" || key == "any") {
    f.what = key == "all" ? filter::kind::all : filter::kind::any;
    if (auto ok = parse_list(f, value, field, depth); !ok) return tl::unexpected(ok.error());
  } else if (key == "not") {
    f.what = filter::kind::not_;
    auto child = parse(value, field, depth + 1);
    if (!child) return tl::unexpected(child.error());
    f.children.push_back(std::move(*child));
  } else if (key == "sql" || key == "cesql") {
    return bad(field,
               "the CESQL dialect is not supported; use exact, prefix, suffix, all, any, not");
  } else {
    return bad(field, "unknown filter dialect " + quote(key) +
                          " (expected exact, prefix, suffix, all, any or not)");
  }
  return f;
}

}  // namespace

bool matches(const filter& f, const cloud_event& e) {
  return evaluate(f, e) != outcome::fail;
}

event_result<filter> parse_filter(const nlohmann::json& j) {
  return parse(j, "", 0);
}

event_result<filter> parse_filters(const nlohmann::json& j) {
  filter f{.what = filter::kind::all};
  if (auto ok = parse_list(f, j, "", 0); !ok) return tl::unexpected(ok.error());
  return f;
}

}  // namespace shfn::event
