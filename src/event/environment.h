#pragma once
// What a script sees of an event, and what it may change (DESIGN.md, "The script contract").
//
// Every attribute that is set becomes one environment variable, SHFN_CE_<NAME>, NAME upper-cased:
//   SHFN_CE_SPECVERSION SHFN_CE_ID SHFN_CE_SOURCE SHFN_CE_TYPE SHFN_CE_DATACONTENTTYPE
//   SHFN_CE_DATASCHEMA SHFN_CE_SUBJECT SHFN_CE_TIME, and SHFN_CE_<EXTENSION> for each extension
//   (SHFN_CE_TRACEPARENT, SHFN_CE_SHFNHISTORY, ...).
// An unset attribute has no variable. The SHFN_ prefix is the runtime's (flow/script_env.h): its
// base environment drops inherited SHFN_* variables, so a stale SHFN_CE_SUBJECT in shfn's own
// environment can never pose as the subject of an event that has none. Attribute names are
// lower-case letters and digits, so NAME is [A-Z0-9]+ and no two attributes share a variable;
// a name that is not valid (an unvalidated event) is skipped. Values only ever go into the
// variables' values, never into a name or a command line; a value holding a NUL (which an
// environment cannot carry) is left out rather than cut short.
//
// The data is not in the environment: it is the script's stdin.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event/event.h"

namespace shfn::event {

inline constexpr std::string_view env_prefix = "SHFN_CE_";

using env_list = std::vector<std::pair<std::string, std::string>>;

// "SHFN_CE_" + upper-cased name.
std::string env_name(std::string_view attribute_name);

// The variables for `e`, in attributes() order.
env_list event_environment(const cloud_event& e);

// Applies a script's `ce.NAME=VALUE` lines (exec::output_metadata::attributes, in file order) to
// the output event `e`. Each line is applied on its own and checked on its own; a line that
// cannot be applied is skipped with a warning, so that a script's typo does not cost the
// message (as exec::parse_metadata does). Rules:
//   - an empty VALUE unsets an optional attribute or an extension;
//   - id, source and type cannot be unset (an empty value is refused);
//   - specversion cannot be changed (setting it to "1.0" is accepted and changes nothing);
//   - the value must be valid for the attribute (time RFC 3339, source a URI-reference, ...).
// Returns the warnings, e.g. `ce.time: time "yesterday" is not an RFC 3339 timestamp`; empty
// when every line was applied.
std::vector<std::string> apply_metadata(cloud_event& e, const attribute_list& attributes);

}  // namespace shfn::event
