#pragma once
// The syntax of attribute filters (filter.h), written once for every document a filter comes in:
// JSON (parse_filter, filter.cc) and a spec file's YAML (config, whose reader points at file, line
// and column). A template so that each document keeps its own reader, which reports the
// document's own errors (a wrong type, an unknown or duplicate key) where they are; the rules of
// filters and their messages are here and only here.
//
// A reader is a value of the document, shaped as config/reader.h's `field`:
//   void error(std::string) const            reports an error at this value
//   as_string()  -> std::optional<std::string>
//   as_list()    -> std::optional<std::vector<Reader>>
//   as_entries() -> std::optional<std::vector<std::pair<Reader, Reader>>>  (key, value); keys
//                   are strings, their error() points at the key
//   as_mapping(std::vector<std::string_view> known) -> std::optional<Mapping>: other keys are
//                   reported; Mapping has get(key) -> std::optional<Reader> and error(std::string)
// A read reports what is wrong and carries on, so one pass finds every error in the document.
// What the functions here return is meaningful only when nothing was reported.
//
// Load time only; plain functions of their arguments; any thread.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event/filter.h"

namespace shfn::event {

inline constexpr std::string_view filter_dialects[] = {"exact", "prefix", "suffix", "all",
                                                       "any",   "not",    "cesql"};

bool is_filter_dialect(std::string_view key);

// What a document may leave out.
struct filter_rules {
  // Knative reads an empty filter ({}, `all: []`, `any: []`) as "no filter", neutral in all and
  // any. A spec file refuses them: written there, one is a mistake.
  bool allow_empty = true;
};

// Knative: "Attribute name must start with a letter and can only contain lowercase
// alphanumeric"; `data` is no attribute (CloudEvents reserves it for the payload).
std::optional<std::string> filter_attribute_problem(std::string_view name);

// "a filter has one dialect, not both A and B: ...", reported at B.
std::string two_dialects_message(std::string_view a, std::string_view b);

template <class Reader>
std::optional<filter> read_filter(const Reader& value, const filter_rules& rules, int depth = 0);

namespace filter_grammar_detail {

template <class Reader>
std::optional<filter> read_attributes(filter::kind what, const Reader& value) {
  auto entries = value.as_entries();
  if (!entries) return std::nullopt;
  if (entries->empty()) {
    value.error("must name at least one attribute");
    return std::nullopt;
  }
  filter f{.what = what};
  bool ok = true;
  for (const auto& [key, v] : *entries) {
    const std::string name = key.as_string().value_or("");
    if (auto problem = filter_attribute_problem(name)) {
      key.error(*problem);
      ok = false;
      continue;
    }
    auto text = v.as_string();
    if (!text) {
      ok = false;
    } else if (text->empty()) {
      v.error("must not be empty");
      ok = false;
    } else {
      f.attributes.emplace_back(name, std::move(*text));
    }
  }
  if (!ok) return std::nullopt;
  return f;
}

// A CESQL expression, compiled now so that a spec file points at a syntax error; a call of a
// function CESQL does not define could never pass, so it is refused too.
template <class Reader>
std::optional<filter> read_cesql(const Reader& value) {
  auto text = value.as_string();
  if (!text) return std::nullopt;
  auto expression = cesql::compile(*text);
  if (!expression) {
    value.error("invalid CESQL expression: " + expression.error().message);
    return std::nullopt;
  }
  if (const auto& unknown = (*expression)->unknown_functions(); !unknown.empty()) {
    value.error("CESQL has no function " + unknown.front());
    return std::nullopt;
  }
  return filter{.what = filter::kind::cesql, .expression = std::move(*expression)};
}

template <class Reader>
std::optional<filter> read_dialect(std::string_view key, const Reader& value,
                                   const filter_rules& rules, int depth) {
  if (key == "cesql") return read_cesql(value);
  if (key == "exact") return read_attributes(filter::kind::exact, value);
  if (key == "prefix") return read_attributes(filter::kind::prefix, value);
  if (key == "suffix") return read_attributes(filter::kind::suffix, value);
  if (key == "not") {
    auto child = read_filter(value, rules, depth + 1);
    if (!child) return std::nullopt;
    filter f{.what = filter::kind::not_};
    f.children.push_back(std::move(*child));
    return f;
  }
  auto items = value.as_list();
  if (!items) return std::nullopt;
  if (items->empty() && !rules.allow_empty) {
    value.error("must list at least one filter");
    return std::nullopt;
  }
  filter f{.what = key == "all" ? filter::kind::all : filter::kind::any};
  bool ok = true;
  for (const auto& item : *items) {
    if (auto child = read_filter(item, rules, depth + 1))
      f.children.push_back(std::move(*child));
    else
      ok = false;
  }
  if (!ok) return std::nullopt;
  return f;
}

}  // namespace filter_grammar_detail

// The filter made by the dialect keys of `m`, a mapping read with at least filter_dialects as its
// known keys (a spec file's filter step also has ref, command...: the caller has checked that none
// of them is given). One dialect, or an error.
template <class Mapping>
std::optional<filter> read_filter_keys(const Mapping& m, const filter_rules& rules, int depth = 0) {
  using reader = typename decltype(m.get(std::string_view()))::value_type;
  std::vector<std::pair<std::string_view, reader>> given;
  for (std::string_view key : filter_dialects)
    if (auto v = m.get(key)) given.emplace_back(key, std::move(*v));
  if (given.empty()) {
    if (rules.allow_empty) return filter{};
    m.error("expected one of exact, prefix, suffix, all, any, not or cesql");
    return std::nullopt;
  }
  if (given.size() > 1) {
    given[1].second.error(two_dialects_message(given[0].first, given[1].first));
    return std::nullopt;
  }
  return filter_grammar_detail::read_dialect(given[0].first, given[0].second, rules, depth);
}

// One filter: a mapping with one dialect. `depth` counts the filters around it; deeper than
// max_filter_depth is refused.
template <class Reader>
std::optional<filter> read_filter(const Reader& value, const filter_rules& rules, int depth) {
  if (depth > max_filter_depth) {
    value.error("filters nested deeper than " + std::to_string(max_filter_depth) + " levels");
    return std::nullopt;
  }
  auto m = value.as_mapping(
      std::vector<std::string_view>(std::begin(filter_dialects), std::end(filter_dialects)));
  if (!m) return std::nullopt;
  return read_filter_keys(*m, rules, depth);
}

}  // namespace shfn::event
