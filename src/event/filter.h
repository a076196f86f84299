#pragma once
// An attribute filter with the semantics of Knative Eventing's Trigger `filters` (the
// "subscriptions API" dialects). Evaluated in-process: no script, no process.
//
//   exact:  {attr: value, ...}  every listed attribute is present and equal to its value
//   prefix: {attr: value, ...}  every listed attribute is present and starts with its value
//   suffix: {attr: value, ...}  every listed attribute is present and ends with its value
//   all:    [filter, ...]       every filter matches (an empty list matches)
//   any:    [filter, ...]       at least one filter matches (an empty list matches)
//   not:    filter              the filter does not match
//   cesql:  "expression"        a CloudEvents SQL expression is true (cesql.h); an expression
//                               that fails (a missing attribute, a bad cast) does not match
//   {}                          matches everything
//
// Attributes are context attributes and extensions alike (type, source, subject, myext...),
// compared as strings, case-sensitively. As in Knative, each filter object has exactly one
// dialect, attribute names start with a letter and are lower-case letters and digits, and values
// are non-empty; `data` is no attribute. Knative evaluates an empty filter to "no filter", which
// combines as a neutral element (`any: [{}, F]` is F, `not: {}` is still "no filter"); a result of
// "no filter" passes. This does the same.
//
// Plain data once built; any thread.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "event/cesql.h"
#include "event/event.h"

namespace shfn::event {

struct filter {
  enum class kind { none, exact, prefix, suffix, all, any, not_, cesql };
  kind what = kind::none;
  attribute_list attributes;     // exact, prefix, suffix: attribute -> value, all must hold
  std::vector<filter> children;  // all, any: the list; not: exactly one
  std::shared_ptr<const cesql::expression> expression;  // cesql

  // Equal when written the same: expressions compare by their text.
  bool operator==(const filter& other) const;
};

bool matches(const filter& f, const cloud_event& e);

// One filter in Knative's YAML shape, as JSON: {"exact": {"type": "x"}}, {"all": [...]},
// {"not": {...}}, read by filter_grammar.h (which a spec file's YAML is read by too). An error
// carries the field path in error::field ("all[1].exact") and says what is wrong ("expected a
// mapping, got a list"); of several, the first is returned. Nesting deeper than max_filter_depth is
// refused.
event_result<filter> parse_filter(const nlohmann::json& j);
// A list of filters, all of which must match (a Trigger's `spec.filters`); field paths start with
// the index: "[0].exact".
event_result<filter> parse_filters(const nlohmann::json& j);

// The filter in the shape parse_filter reads: parse_filter(as_json(f)) gives f back.
nlohmann::json as_json(const filter& f);

inline constexpr int max_filter_depth = 32;

}  // namespace shfn::event
