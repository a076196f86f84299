// Test files read with the spec loader's YAML layer (config/reader.h): typed reads that record
// line, column and field path, unknown keys with suggestions, every error collected.

#include "flowtest/test_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>

#include "config/duration.h"
#include "config/reader.h"
#include "event/pulsar_binding.h"
#include "wire/topic_name.h"

namespace shfn::flowtest {
namespace {

namespace fs = std::filesystem;
using config::field;
using config::quote;
using config::read_topic;

// What a sent event gets when the test does not say: enough for a valid CloudEvent.
constexpr std::string_view default_source = "/shfn/test";
constexpr std::string_view default_type = "dev.shfn.test";

origin origin_of(const field& f) {
  return origin{f.where(), f.path()};
}

// A name of the spec (for `to:` and `from:`): resolved later, against the loaded spec.
std::optional<std::string> read_name(const field& f) {
  auto text = f.as_string();
  if (text && text->empty()) {
    f.error("must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<duration> read_duration(const field& f, bool allow_zero) {
  auto text = f.as_string();
  if (!text) return std::nullopt;
  auto d = parse_test_duration(*text);
  if (!d) {
    f.error(d.error());
    return std::nullopt;
  }
  if (!allow_zero && d->count() == 0) {
    f.error("must be longer than 0");
    return std::nullopt;
  }
  return *d;
}

bool parses_as_json(std::string_view text) {
  return nlohmann::json::accept(text);
}

// A payload or event data to send: a string as its bytes, any other value as compact JSON.
// `is_json` says whether the bytes are JSON (for the event's default datacontenttype).
std::optional<bytes> read_body(const field& f, bool& is_json) {
  auto value = f.as_json();
  if (!value) return std::nullopt;
  std::string text;
  if (value->is_string()) {
    text = value->get<std::string>();
    is_json = parses_as_json(text);
  } else {
    text = value->dump();
    is_json = true;
  }
  return bytes(text.begin(), text.end());
}

std::optional<expected_body> read_expected_body(const field& f) {
  auto value = f.as_json();
  if (!value) return std::nullopt;
  if (value->is_string())
    return expected_body{.type = expected_body::kind::text, .text = value->get<std::string>()};
  return expected_body{.type = expected_body::kind::json, .json = std::move(*value)};
}

std::optional<property_list> read_properties(const field& f) {
  auto entries = f.as_entries();
  if (!entries) return std::nullopt;
  property_list out;
  for (const auto& [key, value] : *entries) {
    const std::string& name = key.node().Scalar();
    if (name.empty()) {
      key.error("a property name must not be empty");
      continue;
    }
    // `name:` alone is the empty string, as a Function's `env` reads it.
    if (value.node().IsNull()) {
      out.emplace_back(name, "");
      continue;
    }
    if (auto text = value.as_string()) out.emplace_back(name, *text);
  }
  return out;
}

// An event's attributes (any name, extensions included) and `data`, as a mapping. Calls
// `on_data` for the `data` entry; returns the attributes in the order given.
template <class OnData>
std::optional<property_list> read_attributes(const field& f, OnData on_data) {
  auto entries = f.as_entries();
  if (!entries) return std::nullopt;
  property_list out;
  bool ok = true;
  for (const auto& [key, value] : *entries) {
    const std::string& name = key.node().Scalar();
    if (name == "data") {
      ok = on_data(value) && ok;
      continue;
    }
    if (auto problem = event::attribute_name_problem(name)) {
      key.error(*problem +
                " (attributes are the event's context attributes and extensions, "
                "plus data)");
      ok = false;
      continue;
    }
    auto text = value.as_string();
    if (!text) {
      ok = false;
      continue;
    }
    out.emplace_back(name, *text);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<event::cloud_event> read_event(const field& f) {
  event::cloud_event e;
  bool data_is_json = false;
  bool data_given = false;
  auto attributes = read_attributes(f, [&](const field& data) {
    auto body = read_body(data, data_is_json);
    if (!body) return false;
    e.data = std::move(*body);
    e.has_data = true;
    data_given = true;
    return true;
  });
  if (!attributes) return std::nullopt;
  e.source = default_source;
  e.type = default_type;
  e.id = "placeholder";  // validated with one; each send gets its own unless the test gives one
  bool id_given = false;
  for (const auto& [name, value] : *attributes) {
    if (name == "id") id_given = true;
    // The names were checked: this cannot fail.
    (void)event::set_attribute(e, name, value);
  }
  if (data_given && !e.datacontenttype)
    e.datacontenttype = data_is_json ? "application/json" : "text/plain";
  if (auto valid = event::validate(e); !valid) {
    f.error("not a valid CloudEvent: " + valid.error().to_string());
    return std::nullopt;
  }
  if (!id_given) e.id.clear();
  return e;
}

std::optional<expected_message> read_expected_event(const field& f) {
  expected_message m{.at = origin_of(f), .is_event = true};
  bool ok = true;
  auto attributes = read_attributes(f, [&](const field& data) {
    auto body = read_expected_body(data);
    ok = body.has_value();
    m.data = std::move(body);
    return ok;
  });
  if (!attributes) return std::nullopt;
  m.attributes = std::move(*attributes);
  return m;
}

std::optional<expected_message> read_expected_payload(const field& f) {
  auto body = read_expected_body(f);
  if (!body) return std::nullopt;
  return expected_message{.at = origin_of(f), .data = std::move(body)};
}

// A `messages:` item: an event or a payload (or neither: any message), a key, properties.
std::optional<expected_message> read_expected_message(const field& f) {
  auto m = f.as_mapping({"event", "payload", "key", "properties"});
  if (!m) return std::nullopt;
  auto ev = m->get("event");
  auto payload = m->get("payload");
  std::optional<expected_message> out = expected_message{.at = origin_of(f)};
  if (ev && payload) {
    m->error("give either event or payload, not both");
    out.reset();
  } else if (ev) {
    out = read_expected_event(*ev);
    if (out) out->at = origin_of(f);
  } else if (payload) {
    auto body = read_expected_body(*payload);
    if (body)
      out->data = std::move(*body);
    else
      out.reset();
  }
  if (auto key = m->get("key")) {
    auto text = key->as_string();
    if (out && text) out->key = *text;
  }
  if (auto props = m->get("properties")) {
    auto list = read_properties(*props);
    if (out && list) out->properties = std::move(*list);
  }
  return out;
}

std::optional<send_step> read_send(const field& f) {
  auto m = f.as_mapping({"topic", "to", "event", "payload", "structured", "key", "properties"});
  if (!m) return std::nullopt;
  send_step s{.at = origin_of(f)};
  bool ok = true;
  auto topic = m->get("topic");
  auto to = m->get("to");
  if (topic && to) {
    m->error("give either topic or to, not both");
    ok = false;
  } else if (topic) {
    auto t = read_topic(*topic);
    if (t) s.topic = *t;
    ok = t.has_value();
  } else if (to) {
    auto name = read_name(*to);
    if (name) s.to = *name;
    s.to_at = origin_of(*to);
    ok = name.has_value();
  } else {
    m->error("one of topic or to is required: where to send");
    ok = false;
  }
  auto ev = m->get("event");
  auto payload = m->get("payload");
  if (ev && payload) {
    m->error("give either event or payload, not both");
    ok = false;
  } else if (ev) {
    s.event = read_event(*ev);
    ok = s.event.has_value() && ok;
  } else if (payload) {
    bool is_json = false;
    auto body = read_body(*payload, is_json);
    if (body) s.payload = std::move(*body);
    ok = body.has_value() && ok;
  } else {
    m->error("one of event or payload is required: what to send");
    ok = false;
  }
  if (auto structured = m->get("structured")) {
    auto b = structured->as_bool();
    if (b && *b && !ev) {
      structured->error("only an event can be sent in structured mode");
      ok = false;
    }
    s.structured = b.value_or(false);
    ok = b.has_value() && ok;
  }
  if (auto key = m->get("key")) {
    auto text = key->as_string();
    if (text) s.key = *text;
    ok = text.has_value() && ok;
  }
  if (auto props = m->get("properties")) {
    auto list = read_properties(*props);
    if (list) s.properties = std::move(*list);
    ok = list.has_value() && ok;
  }
  if (!ok) return std::nullopt;
  return s;
}

// Reads a list whose items `read` turns into values; nullopt when any item failed.
template <class T, class Read>
std::optional<std::vector<T>> read_list(const field& f, Read read) {
  auto items = f.as_list();
  if (!items) return std::nullopt;
  std::vector<T> out;
  bool ok = true;
  for (const auto& item : *items) {
    auto value = read(item);
    if (value) out.push_back(std::move(*value));
    ok = ok && value.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<topic_expectation> read_expect(const field& f) {
  auto m = f.as_mapping({"topic", "from", "ordered", "events", "payloads", "messages"});
  if (!m) return std::nullopt;
  topic_expectation e{.at = origin_of(f)};
  bool ok = true;
  auto topic = m->get("topic");
  auto from = m->get("from");
  if (topic && from) {
    m->error("give either topic or from, not both");
    ok = false;
  } else if (topic) {
    auto t = read_topic(*topic);
    if (t) e.topic = *t;
    ok = t.has_value();
  } else if (from) {
    auto name = read_name(*from);
    if (name) e.from = *name;
    e.from_at = origin_of(*from);
    ok = name.has_value();
  } else {
    m->error("one of topic or from is required: where the messages are expected");
    ok = false;
  }
  if (auto ordered = m->get("ordered")) {
    auto b = ordered->as_bool();
    e.ordered = b.value_or(true);
    ok = b.has_value() && ok;
  }
  // An empty list is absent for mapping::get only when null; `events: []` is a list, kept.
  auto events = m->get("events");
  auto payloads = m->get("payloads");
  auto messages = m->get("messages");
  const int given = int{events.has_value()} + int{payloads.has_value()} + int{messages.has_value()};
  if (given != 1) {
    m->error(given == 0 ? "one of events, payloads or messages is required (an empty list: "
                          "nothing may arrive)"
                        : "give only one of events, payloads and messages");
    return std::nullopt;
  }
  std::optional<std::vector<expected_message>> list;
  if (events) list = read_list<expected_message>(*events, read_expected_event);
  if (payloads) list = read_list<expected_message>(*payloads, read_expected_payload);
  if (messages) list = read_list<expected_message>(*messages, read_expected_message);
  if (!list || !ok) return std::nullopt;
  e.messages = std::move(*list);
  return e;
}

struct case_defaults {
  duration timeout{10000};
  duration settle{10000};
};

std::optional<test_case> read_case(const field& f, const case_defaults& defaults) {
  auto m = f.as_mapping({"name", "send", "expect", "timeout", "settle"});
  if (!m) return std::nullopt;
  test_case c{.at = origin_of(f), .timeout = defaults.timeout, .settle = defaults.settle};
  bool ok = true;
  if (auto name = m->require("name")) {
    auto text = name->as_string();
    if (text && text->empty()) name->error("must not be empty");
    if (text) c.name = *text;
    ok = text.has_value() && !text->empty();
    c.at = origin_of(*name);
  } else {
    ok = false;
  }
  if (auto send = m->get("send")) {
    auto list = read_list<send_step>(*send, read_send);
    if (list) c.sends = std::move(*list);
    ok = list.has_value() && ok;
  }
  if (auto expect = m->require("expect")) {
    auto list = read_list<topic_expectation>(*expect, read_expect);
    if (list && list->empty()) {
      // A case that expects nothing could never fail.
      expect->error("must list at least one topic");
      list.reset();
    }
    if (list) c.expects = std::move(*list);
    ok = list.has_value() && ok;
  } else {
    ok = false;
  }
  if (auto timeout = m->get("timeout")) {
    auto d = read_duration(*timeout, false);
    if (d) c.timeout = *d;
    ok = d.has_value() && ok;
  }
  if (auto settle = m->get("settle")) {
    auto d = read_duration(*settle, true);
    if (d) c.settle = *d;
    ok = d.has_value() && ok;
  }
  if (!ok) return std::nullopt;
  return c;
}

void read_file(const field& root, const fs::path& base_dir, test_file& out) {
  if (!root.is_mapping()) {
    root.error("expected a mapping with spec and tests, got " + config::describe(root.node()));
    return;
  }
  auto m = root.as_mapping({"spec", "tests", "timeout", "settle", "clock"});
  if (!m) return;
  if (auto spec = m->require("spec")) {
    if (auto text = spec->as_string()) {
      out.spec = (base_dir / *text).lexically_normal().string();
      out.spec_at = origin_of(*spec);
    }
  }
  if (auto clock = m->get("clock")) {
    if (auto text = clock->as_string()) {
      out.clock = *text;
      out.clock_at = origin_of(*clock);
    }
  }
  case_defaults defaults;
  if (auto timeout = m->get("timeout")) {
    if (auto d = read_duration(*timeout, false)) defaults.timeout = *d;
  }
  if (auto settle = m->get("settle")) {
    if (auto d = read_duration(*settle, true)) defaults.settle = *d;
  }
  auto tests = m->require("tests");
  if (!tests) return;
  auto items = tests->as_list();
  if (!items) return;
  if (items->empty()) tests->error("must list at least one test");
  std::map<std::string, int> lines;  // name -> line of its first use
  for (const auto& item : *items) {
    auto c = read_case(item, defaults);
    if (!c) continue;
    auto [first, inserted] = lines.emplace(c->name, c->at.where.line);
    if (!inserted) {
      item.diags().error(c->at.where, c->at.field,
                         fmt::format("duplicate test name {} (first used at line {})",
                                     quote(c->name), first->second));
      continue;
    }
    out.cases.push_back(std::move(*c));
  }
}

load_result parse(std::string_view yaml, const std::string& file_name, const fs::path& base_dir) {
  config::diagnostics diags(file_name);
  const std::string source(yaml);
  diags.set_source(source);
  test_file out{.path = file_name};
  try {
    const YAML::Node node = YAML::Load(source);
    read_file(field(diags, node, node.Mark(), ""), base_dir, out);
  } catch (const YAML::ParserException& e) {
    diags.error(e.mark, "", "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    // yaml-cpp throws beyond its parser exceptions (allocation, recursion guards).
    diags.error(text_location{file_name}, "", std::string("cannot load: ") + e.what());
  }
  if (diags.count() == 0) return out;
  auto errors = diags.take();
  sort_in_file_order(errors);
  return tl::unexpected(std::move(errors));
}

}  // namespace

tl::expected<duration, std::string> parse_test_duration(std::string_view text) {
  if (text.starts_with('P') || text.starts_with('p')) return config::parse_duration(text);
  // NUMBER[.FRACTION] then a unit: ms, s or m.
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  const std::string_view number = text.substr(0, i);
  const std::string_view unit = text.substr(i);
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  const bool number_ok =
      !number.empty() && ec == std::errc() && end == number.data() + number.size();
  double scale = 0;
  if (unit == "ms") scale = 1;
  if (unit == "s") scale = 1000;
  if (unit == "m") scale = 60000;
  if (!number_ok || scale == 0)
    return tl::unexpected(fmt::format(
        "invalid duration {}: expected a number and a unit (ms, s or m), e.g. 10s or 500ms",
        quote(text)));
  const double ms = value * scale;
  if (ms > 24.0 * 3600 * 1000)
    return tl::unexpected(fmt::format("duration {} is longer than a day", quote(text)));
  return duration(static_cast<duration::rep>(std::llround(ms)));
}

load_result parse_test_file(std::string_view yaml, const std::string& file_name,
                            const std::string& base_dir) {
  return parse(yaml, file_name, config::absolute_dir(base_dir));
}

load_result load_test_file(const std::string& path) {
  auto file = config::read_file_text(path, "a test file");
  if (!file) return tl::unexpected(std::move(file.error()));
  return parse(file->text, path, file->base_dir);
}

}  // namespace shfn::flowtest
