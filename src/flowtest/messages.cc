#include "flowtest/messages.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "event/pulsar_binding.h"

namespace shfn::flowtest {
namespace {

// Past this, shown text is cut: a diff must stay readable.
constexpr std::size_t max_shown = 300;

std::optional<nlohmann::json> parse_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string cut(std::string s) {
  if (s.size() > max_shown) {
    s.resize(max_shown);
    s += "...";
  }
  return s;
}

std::string shown_text(std::string_view text) {
  return cut(dump(nlohmann::json(std::string(text))));
}

// Received bytes as shown: a JSON object or array as compact JSON, anything else quoted.
std::string show_bytes(byte_view b) {
  const std::string_view text = as_chars(b);
  if (auto j = parse_json(text); j && j->is_structured()) return cut(dump(*j));
  return shown_text(text);
}

std::string show(const expected_body& body) {
  if (body.type == expected_body::kind::json) return cut(dump(body.json));
  return shown_text(body.text);
}

bool body_matches(const expected_body& body, byte_view got) {
  const std::string_view text = as_chars(got);
  if (body.type == expected_body::kind::json) {
    auto j = parse_json(text);
    return j && *j == body.json;
  }
  if (text == body.text) return true;
  // A JSON object or array written another way (spacing, key order) is the same value.
  auto want = parse_json(body.text);
  if (!want || !want->is_structured()) return false;
  auto have = parse_json(text);
  return have && *have == *want;
}

std::optional<std::string_view> property(const property_list& props, std::string_view name) {
  for (const auto& [k, v] : props)
    if (k == name) return v;
  return std::nullopt;
}

void compare_key_and_properties(const expected_message& e, const message& m,
                                std::vector<difference>& out) {
  if (e.key && m.key != e.key)
    out.push_back({"key", shown_text(*e.key), m.key ? shown_text(*m.key) : "no key"});
  for (const auto& [name, value] : e.properties) {
    auto have = property(m.properties, name);
    if (!have)
      out.push_back({"property " + shown_text(name), shown_text(value), "not set"});
    else if (*have != value)
      out.push_back({"property " + shown_text(name), shown_text(value), shown_text(*have)});
  }
}

void compare_event(const expected_message& e, const message& m, std::vector<difference>& out) {
  auto decoded = event::decode(m.properties, m.payload);
  if (!decoded) {
    const bool plain = decoded.error().code == event::errc::not_a_cloud_event;
    out.push_back({"event", "a CloudEvent",
                   plain ? "a plain message (no ce_specversion property): " + summary(m)
                         : "an invalid CloudEvent: " + decoded.error().to_string()});
    return;
  }
  const event::cloud_event& ev = decoded->event;
  for (const auto& [name, value] : e.attributes) {
    auto have = event::attribute(ev, name);
    if (!have)
      out.push_back({name, shown_text(value), "not set"});
    else if (*have != value)
      out.push_back({name, shown_text(value), shown_text(*have)});
  }
  if (e.data) {
    if (!ev.has_data)
      out.push_back({"data", show(*e.data), "no data"});
    else if (!body_matches(*e.data, ev.data))
      out.push_back({"data", show(*e.data), show_bytes(ev.data)});
  }
}

// Maximum bipartite matching (Kuhn's augmenting paths): expected i -> received match_of[i].
// Test cases have a handful of messages, so the cubic bound does not matter.
struct matching {
  std::vector<int> of_expected;  // -1: unmatched
  std::vector<int> of_received;
};

bool augment(const std::vector<std::vector<bool>>& fits, int i, std::vector<bool>& seen,
             matching& mt) {
  for (std::size_t j = 0; j < fits[i].size(); ++j) {
    if (!fits[i][j] || seen[j]) continue;
    seen[j] = true;
    const int other = mt.of_received[j];
    if (other < 0 || augment(fits, other, seen, mt)) {
      mt.of_expected[i] = static_cast<int>(j);
      mt.of_received[j] = i;
      return true;
    }
  }
  return false;
}

matching match_any_order(const std::vector<std::vector<bool>>& fits, std::size_t received) {
  matching mt{std::vector<int>(fits.size(), -1), std::vector<int>(received, -1)};
  for (std::size_t i = 0; i < fits.size(); ++i) {
    std::vector<bool> seen(received, false);
    augment(fits, static_cast<int>(i), seen, mt);
  }
  return mt;
}

std::string where(const expected_message& e) {
  return fmt::format("{}:{}:{}", e.at.where.file, e.at.where.line, e.at.where.column);
}

void add_differences(const std::vector<difference>& diffs, std::vector<std::string>& lines) {
  for (const auto& d : diffs) {
    lines.push_back(fmt::format("    {}:", d.what));
    lines.push_back(fmt::format("      expected: {}", d.expected));
    lines.push_back(fmt::format("      got:      {}", d.got));
  }
}

void add_missing(const expected_message& e, std::size_t index, std::chrono::milliseconds waited,
                 std::vector<std::string>& lines) {
  lines.push_back(fmt::format("  message {} ({}): nothing arrived within {}", index + 1, where(e),
                              format_duration(waited)));
  lines.push_back(fmt::format("    expected: {}", summary(e)));
}

void add_unexpected(const std::vector<message>& got, const std::vector<bool>& used,
                    std::vector<std::string>& lines) {
  for (std::size_t j = 0; j < got.size(); ++j) {
    if (used[j]) continue;
    lines.push_back(fmt::format("  unexpected message (arrived #{}): {}", j + 1, summary(got[j])));
  }
}

void judge_in_order(const topic_expectation& e, const std::vector<message>& got,
                    std::chrono::milliseconds waited, const std::vector<std::vector<bool>>& fits,
                    verdict& v) {
  const auto& want = e.messages;
  bool in_place = got.size() == want.size();
  for (std::size_t i = 0; in_place && i < want.size(); ++i) in_place = fits[i][i];
  if (in_place) return;
  // Everything arrived, only in another order: say that, rather than a cascade of differences.
  if (got.size() == want.size()) {
    auto any = match_any_order(fits, got.size());
    if (std::none_of(any.of_expected.begin(), any.of_expected.end(), [](int j) { return j < 0; })) {
      std::string order;
      for (std::size_t j = 0; j < got.size(); ++j)
        order += fmt::format("{}{}", j == 0 ? "" : ", ", any.of_received[j] + 1);
      v.lines.push_back(fmt::format(
          "  every expected message arrived, but in another order: expected messages {} (in "
          "arrival order); set `ordered: false` if the order does not matter",
          order));
      return;
    }
  }
  std::vector<bool> used(got.size(), false);
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (i >= got.size()) {
      add_missing(want[i], i, waited, v.lines);
      continue;
    }
    used[i] = true;
    if (fits[i][i]) continue;
    v.lines.push_back(fmt::format("  message {} ({}):", i + 1, where(want[i])));
    add_differences(compare(want[i], got[i]), v.lines);
  }
  add_unexpected(got, used, v.lines);
}

void judge_any_order(const topic_expectation& e, const std::vector<message>& got,
                     std::chrono::milliseconds waited, const std::vector<std::vector<bool>>& fits,
                     verdict& v) {
  const auto& want = e.messages;
  auto mt = match_any_order(fits, got.size());
  std::vector<bool> used(got.size());
  for (std::size_t j = 0; j < got.size(); ++j) used[j] = mt.of_received[j] >= 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (mt.of_expected[i] >= 0) continue;
    // The closest message nothing else took, to show how it differs; shown once, so it is not
    // listed as unexpected as well.
    std::optional<std::vector<difference>> closest;
    std::size_t closest_at = 0;
    for (std::size_t j = 0; j < got.size(); ++j) {
      if (used[j]) continue;
      auto diffs = compare(want[i], got[j]);
      if (!closest || diffs.size() < closest->size()) {
        closest = std::move(diffs);
        closest_at = j;
      }
    }
    if (!closest) {
      add_missing(want[i], i, waited, v.lines);
      continue;
    }
    used[closest_at] = true;
    v.lines.push_back(
        fmt::format("  message {} ({}): no message like it arrived; the closest "
                    "(arrived #{}):",
                    i + 1, where(want[i]), closest_at + 1));
    add_differences(*closest, v.lines);
  }
  add_unexpected(got, used, v.lines);
}

}  // namespace

message message_for(const send_step& s, const std::string& fresh_id) {
  message m{.key = s.key};
  if (!s.event) {
    m.payload = s.payload;
    m.properties = s.properties;
    return m;
  }
  event::cloud_event e = *s.event;
  if (e.id.empty()) e.id = fresh_id;
  auto parts = s.structured ? event::encode_structured(e, s.properties)
                            : event::encode_binary(e, s.properties);
  m.payload = std::move(parts.payload);
  m.properties = std::move(parts.props);
  return m;
}

std::vector<difference> compare(const expected_message& e, const message& m) {
  std::vector<difference> out;
  if (e.is_event) {
    compare_event(e, m, out);
  } else if (e.data && !body_matches(*e.data, m.payload)) {
    out.push_back({"payload", show(*e.data), show_bytes(m.payload)});
  }
  compare_key_and_properties(e, m, out);
  return out;
}

std::string summary(const message& m) {
  std::string out;
  auto decoded = event::decode(m.properties, m.payload);
  if (decoded) {
    const auto& ev = decoded->event;
    out = fmt::format("event type={} source={}", shown_text(ev.type), shown_text(ev.source));
    if (ev.subject) out += " subject=" + shown_text(*ev.subject);
    out += ev.has_data ? " data=" + show_bytes(ev.data) : " (no data)";
  } else {
    out = "payload " + show_bytes(m.payload);
  }
  if (m.key) out += " key=" + shown_text(*m.key);
  return out;
}

std::string summary(const expected_message& e) {
  std::string out;
  if (e.is_event) {
    out = "event";
    for (const auto& [name, value] : e.attributes)
      out += fmt::format(" {}={}", name, shown_text(value));
    if (e.data) out += " data=" + show(*e.data);
  } else {
    out = e.data ? "payload " + show(*e.data) : "any message";
  }
  if (e.key) out += " key=" + shown_text(*e.key);
  for (const auto& [name, value] : e.properties)
    out += fmt::format(" property {}={}", shown_text(name), shown_text(value));
  return out;
}

verdict judge(const topic_expectation& e, const std::vector<message>& got,
              std::chrono::milliseconds waited) {
  verdict v;
  std::vector<std::vector<bool>> fits(e.messages.size(), std::vector<bool>(got.size()));
  for (std::size_t i = 0; i < e.messages.size(); ++i)
    for (std::size_t j = 0; j < got.size(); ++j)
      fits[i][j] = compare(e.messages[i], got[j]).empty();
  if (e.ordered)
    judge_in_order(e, got, waited, fits, v);
  else
    judge_any_order(e, got, waited, fits, v);
  v.ok = v.lines.empty();
  if (!v.ok)
    v.lines.insert(v.lines.begin(),
                   fmt::format("{}: expected {} message{}, {} arrived", e.topic, e.messages.size(),
                               e.messages.size() == 1 ? "" : "s", got.size()));
  return v;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 60000 == 0 && ms > 0) return fmt::format("{}m", ms / 60000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  if (ms > 1000) return fmt::format("{}s", static_cast<double>(ms) / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace shfn::flowtest
