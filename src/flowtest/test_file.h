#pragma once
// Flow test files (`shfn test`, docs/flow-tests.md): which spec to run, and test cases that each
// send messages and expect messages on topics. This is the model and its loading: every error
// is a diagnostic naming the file, the line, the column and the field, as the spec loader's are
// (it reuses config/reader.h), and loading collects them all in one pass.
//
//   spec: odd-even.yaml                 # relative to the test file
//   tests:
//     - name: an even minute goes to the even branch
//       send:
//         - to: odd-even                  # or topic: T
//           event: {type: ping, time: "2026-01-01T00:02:00Z", data: {message: hi}}
//       expect:
//         - topic: odd-even-reply         # or from: NAME
//           events: [{data: {message: "we are even!"}}]
//
// Load time only; pure (the file is read, nothing else); any thread.

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/diagnostic.h"
#include "config/spec.h"
#include "event/event.h"

namespace shfn::flowtest {

using property_list = std::vector<std::pair<std::string, std::string>>;

// Where a value came from, for messages: "file:line:col" and the dotted field path.
struct origin {
  text_location where;
  std::string field;  // "tests[0].send[1].to"
};

// What to compare a payload (or an event's data) with.
//   text: the same bytes; or, when the text is a JSON object or array, the same JSON value
//         written differently (spacing, key order) also matches.
//   json: given in YAML as a mapping, list, number, boolean or null: the received bytes must
//         parse as JSON and equal it.
struct expected_body {
  enum class kind { text, json };
  kind type = kind::text;
  std::string text;
  nlohmann::json json;
};

// One message a test sends, in the order given.
struct send_step {
  origin at;
  std::string topic;  // expanded; for `to:` filled by resolve()
  std::string to;     // the name `to:` gave (a Function, Parallel or Sequence); "" for `topic:`
  origin to_at;
  // An event (binary mode unless `structured`); its id may be empty: a fresh UUID per send.
  std::optional<event::cloud_event> event;
  bool structured = false;
  bytes payload;  // a plain message's payload (`payload:`)
  std::optional<std::string> key;
  property_list properties;
};

// One message expected on a topic.
struct expected_message {
  origin at;
  // An event: these attributes equal (a subset: others may be anything), and `data` if given.
  // Not an event: `data` is the payload, if given.
  bool is_event = false;
  property_list attributes;  // in the order given
  std::optional<expected_body> data;
  std::optional<std::string> key;
  property_list properties;  // a subset of the message's properties
};

struct topic_expectation {
  origin at;
  std::string topic;  // expanded; for `from:` filled by resolve()
  std::string from;   // the name `from:` gave; "" for `topic:`
  origin from_at;
  bool ordered = true;                     // false: in any order
  std::vector<expected_message> messages;  // empty: nothing may arrive
};

using duration = std::chrono::milliseconds;

struct test_case {
  origin at;
  std::string name;
  std::vector<send_step> sends;
  std::vector<topic_expectation> expects;
  duration timeout{10000};  // for every expected message to arrive
  duration settle{10000};   // then, at most, for the flow to become quiescent
};

struct test_file {
  std::string path;  // as given
  std::string spec;  // the spec file's path: absolute, normalised
  origin spec_at;
  // Run the spec's cron sources on this virtual clock (SHFN_CLOCK's form: "<RFC 3339>[*speed]");
  // absent: cron sources do not run.
  std::optional<std::string> clock;
  origin clock_at;
  std::vector<test_case> cases;
};

using load_result = tl::expected<test_file, std::vector<diagnostic>>;

// Reads and checks `path`; `spec` is relative to its directory.
load_result load_test_file(const std::string& path);
// The same from text: `file_name` for errors, `base_dir` for the spec's path.
load_result parse_test_file(std::string_view yaml, const std::string& file_name,
                            const std::string& base_dir);

// Fills in the topics named by `to:` (a Function's first input, a Parallel's or Sequence's
// ingress) and `from:` (a Function's output, a Parallel's or Sequence's reply topic) from the
// loaded spec; returns every name that does not fit, at its place in the test file.
std::vector<diagnostic> resolve(test_file& t, const config::spec_file& spec);

// Durations as test files write them: "10s", "500ms", "1.5s", "2m", or ISO-8601 ("PT10S").
tl::expected<duration, std::string> parse_test_duration(std::string_view text);

}  // namespace shfn::flowtest
