#pragma once
// The environment a script runs with (DESIGN.md, "The script contract"): the runtime's own
// environment, the function's identity and user config, the spec's `env`, and per message the
// message's metadata. Payload bytes never go into the environment or the command line.
//
//   SHFN_FUNCTION, SHFN_INSTANCE        which function instance runs the script
//   SHFN_USER_CONFIG                    userConfig as JSON
//   SHFN_CONFIG_<KEY>                   each top-level userConfig entry (scalars as text, else
//   JSON) SHFN_TOPIC, SHFN_MESSAGE_ID         where the message came from
//   ("ledger:entry:partition:batch") SHFN_KEY                            the message key (unset
//   when it has none) SHFN_PUBLISH_TIME, SHFN_EVENT_TIME  ms since the epoch (event time unset when
//   0) SHFN_REDELIVERY_COUNT               how often the broker delivered it before
//   SHFN_PRODUCER_NAME                  who published it
//   SHFN_PROPERTIES                     all properties as a JSON object
//   SHFN_PROP_<NAME>                    each property; NAME upper-cased, other characters -> '_'
//   SHFN_OUTPUT_METADATA                (set by the executor) where the script may write key=...

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/message.h"
#include "config/spec.h"

namespace shfn::function {

using environment = std::vector<std::pair<std::string, std::string>>;

// shfn's own environment as its processes inherit it: every variable of `inherited` (an
// environ-style list) but shfn's own SHFN_* ones.
environment inherited_environment(const char* const* inherited);
// Sets `name` to `value`, replacing an earlier value; a value holding a NUL byte (which an
// environment string cannot carry) is left out.
void set_variable(environment& env, std::string name, std::string value);

// The part shared by every invocation of one function instance.
environment base_environment(const config::function_spec& spec, int instance,
                             const char* const* inherited);
// The part that describes one message.
environment message_environment(const client::message& m);

// `name` as an environment variable suffix: upper case, anything not [A-Z0-9_] becomes '_'.
std::string env_suffix(std::string_view name);

}  // namespace shfn::function
