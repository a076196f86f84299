#pragma once
// The parsed form of a CESQL expression (cesql.h), shared by its parser (cesql_parser.cc) and its
// evaluator (cesql.cc). Plain data, built once and never changed.

#include <string>
#include <vector>

#include "event/cesql.h"

namespace shfn::event::cesql {

// A CESQL function: what it returns when it cannot be evaluated, and its body, which gets
// arguments already cast to the types it takes (cesql.cc, `functions`).
struct function_definition;

struct node {
  enum class op {
    literal,
    attribute,  // name
    exists,     // name
    call,       // name (upper case), function (null: not defined), operands: the arguments
    not_,
    negate,
    like,  // operands[0] LIKE pattern; `negated` for NOT LIKE
    in,    // operands[0] IN (operands[1..]); `negated` for NOT IN
    multiply,
    divide,
    modulo,
    add,
    subtract,
    equal,
    not_equal,
    less,
    less_or_equal,
    greater,
    greater_or_equal,
    and_,
    or_,
    xor_,
  };
  op what = op::literal;
  value literal;
  std::string name;
  std::string pattern;
  bool negated = false;
  const function_definition* function = nullptr;
  std::vector<node> operands;
};

// The definition of NAME (upper case) taking `arity` arguments, or null.
const function_definition* find_function(std::string_view name, std::size_t arity);

}  // namespace shfn::event::cesql
