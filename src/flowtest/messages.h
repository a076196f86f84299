#pragma once
// The messages of a flow test: what a send step publishes, and the verdict on what arrived on an
// expected topic, with a readable difference attribute by attribute.
//
// Pure functions of plain data (no client, no I/O); any thread.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "flowtest/test_file.h"

namespace shfn::flowtest {

// A message as published or received: the parts a test can talk about.
struct message {
  bytes payload;
  std::optional<std::string> key;
  property_list properties;
};

// What `s` publishes: an event in binary (or structured) mode, or a plain payload, with the
// step's key and properties. An event the test gave no id gets `fresh_id`.
message message_for(const send_step& s, const std::string& fresh_id);

// One way a received message differs from the expected one.
struct difference {
  std::string what;      // "type", "data", "payload", "key", "property \"x\"", "event"
  std::string expected;  // as shown to the user ("\"olleh\"", {"a":1}, "not set")
  std::string got;
};

// Every difference between `e` and `m`; empty: `m` matches.
std::vector<difference> compare(const expected_message& e, const message& m);

// A message in one line, for "unexpected message" and "arrived" lists: an event's type, source,
// subject and data, or a plain message's payload; and its key.
std::string summary(const message& m);
// The same for an expected message, as the test file states it.
std::string summary(const expected_message& e);

// The verdict on one expected topic. `lines` are ready to print, indented by two spaces per
// level; empty when ok.
struct verdict {
  bool ok = true;
  std::vector<std::string> lines;
};

// Judges what arrived on `e.topic` (in arrival order) within `waited` (for "nothing arrived
// within 10s"): in order or in any order as the expectation says, then anything more arrived.
verdict judge(const topic_expectation& e, const std::vector<message>& got,
              std::chrono::milliseconds waited);

// "1.5s", "500ms", "2m": a duration as test files write it.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace shfn::flowtest
