#pragma once
// CloudEvents SQL (CESQL) 1.0: the expression language of Knative Trigger's `cesql` filter
// dialect (https://github.com/cloudevents/spec, cesql/spec.md), evaluated in-process.
//
//   type = 'com.example.order' AND (INT(priority) > 3 OR subject LIKE 'urgent-%')
//
// What shfn follows where the spec and its grammar leave room, as the CloudEvents Go SDK (which
// Knative evaluates CESQL with) does, checked by its TCK (tests/cesql_tck_test.cc):
// - Precedence is the ANTLR grammar's: function calls, NOT and unary minus, LIKE, EXISTS, IN,
//   * / %, + -, comparisons, then AND, OR and XOR at one level, grouping to the right
//   (`a AND b OR c` is `a AND (b OR c)`). Keywords, function names and identifiers are
//   case-insensitive; attribute names are looked up in lower case.
// - Errors: an operator or function whose operand failed returns its type's zero value and that
//   error; a function that fails on good operands returns what the spec says with its error
//   (`LEFT('abc', -2)` is 'abc'); a missing attribute is `false`. The first error is kept.
// - Every attribute is a String: shfn keeps attributes as they travel on Pulsar properties and
//   HTTP headers. `sequence = 10` still works, by the spec's implicit casts.
// - Unlike the grammar, `4-1` is a subtraction (the grammar reads `-1` as one literal and fails).
// - LOWER and UPPER map ASCII letters only; LENGTH, LEFT, RIGHT and SUBSTRING count code points.
//
// A compiled expression is immutable: evaluate it from any thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "event/errc.h"
#include "event/event.h"

namespace shfn::event::cesql {

// A value of CESQL's type system: Boolean, Integer (32-bit) or String.
using value = std::variant<bool, std::int32_t, std::string>;

// The spec's error types (section 3.3), named as its TCK names them.
enum class error_kind {
  parse,
  math,
  cast,
  missing_function,
  function_evaluation,
  missing_attribute
};
std::string_view name(error_kind kind);

struct failure {
  error_kind kind;
  std::string message;  // "division by zero", "missing attribute \"myext\""
};

struct result {
  value v;
  std::optional<failure> error;  // the first error met; `v` is still the defined value
};

struct node;  // the parsed tree (cesql_tree.h)

class expression {
 public:
  explicit expression(std::shared_ptr<const node> root, std::string text);
  const std::string& text() const { return text_; }
  // Functions called that CESQL does not define (with this many arguments): a call to one always
  // fails with missing_function, so a spec file refuses them at load time.
  const std::vector<std::string>& unknown_functions() const { return unknown_functions_; }
  result evaluate(const cloud_event& e) const;
  // As a Trigger filter (spec 1.2): true only for a Boolean true without error.
  bool passes(const cloud_event& e) const;

 private:
  std::shared_ptr<const node> root_;
  std::string text_;
  std::vector<std::string> unknown_functions_;
};

// Parses `text`; a syntax error says what was expected at which 1-based column ("column 5:
// expected an expression after AND").
event_result<std::shared_ptr<const expression>> compile(std::string_view text);

}  // namespace shfn::event::cesql
