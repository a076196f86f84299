// The shapes the flow kinds share, read one value at a time: STEP (a filter, a subscriber, a
// sequence step), SINK (reply, sink, deadLetterSink) and DELIVERY. A `ref` is only recorded here;
// resolve.cc ties it to the document it names once the whole file is read.

#include "config/flow_shapes.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "config/duration.h"
#include "config/kinds.h"
#include "event/filter_grammar.h"

namespace shfn::config {
namespace {

constexpr std::int64_t int32_max = std::numeric_limits<std::int32_t>::max();

constexpr choice<backoff_policy> backoff_policies[] = {{"exponential", backoff_policy::exponential},
                                                       {"linear", backoff_policy::linear}};
enum class builtin { display };
constexpr choice<builtin> builtins[] = {{"display", builtin::display}};

// A spec file's filter is never empty: there, an empty one is a mistake.
constexpr event::filter_rules spec_filter_rules{.allow_empty = false};

const std::vector<std::string_view> ref_keys = {"apiVersion", "kind", "name", "namespace"};
// `apiVersion`, `kind`, `name` and `namespace` directly in a sink are Knative's older
// ObjectReference form (v1alpha1 sources and flows), read as a ref.
const std::vector<std::string_view> sink_keys = {
    "topic", "ref", "uri", "builtin", "CACerts", "apiVersion", "kind", "name", "namespace"};

std::string_view role_name(role r) {
  return r == role::filter ? "filter" : r == role::subscriber ? "subscriber" : "step";
}

std::string what_it_may_be(role r) {
  return r == role::filter
             ? "a filter must be a Function, a command, a uri or an attribute filter (exact, "
               "prefix, suffix, all, any, not, cesql)"
             : fmt::format("a {} must be a Function, a command, a uri or builtin: display",
                           role_name(r));
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || is_digit(c);
}

// ---- URIs ----------------------------------------------------------------------------------

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit))
    return false;
  const int value = std::stoi(std::string(port));
  return value >= 1 && value <= 65535;
}

// What is wrong with the HOST[:PORT] of a URL ([IPV6] for a literal address), or nullopt.
std::optional<std::string> authority_problem(std::string_view authority) {
  if (authority.find('@') != std::string_view::npos)
    return "user information (USER@HOST) is not supported";
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return "missing ']'";
    host = authority.substr(0, close + 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return "invalid host";
    if (!after.empty()) port = after.substr(1);
    if (host.size() == 2) return "missing a host";
  } else {
    if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return "missing a host";
    const bool host_ok = std::all_of(host.begin(), host.end(), [](char c) {
      return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_';
    });
    if (!host_ok) return "invalid host " + quote(host);
  }
  if (port && !valid_port(*port)) return "invalid port " + quote(*port);
  return std::nullopt;
}

// An absolute http:// or https:// URL: the runtime POSTs events to it.
std::optional<std::string> uri_problem(std::string_view u) {
  const auto scheme_end = u.find("://");
  const std::string scheme =
      scheme_end == std::string_view::npos ? "" : std::string(u.substr(0, scheme_end));
  if (!iequals(scheme, "http") && !iequals(scheme, "https"))
    return "expected an absolute http:// or https:// URL (https://HOST[:PORT]/PATH), got " +
           quote(u);
  if (std::any_of(u.begin(), u.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; }))
    return "invalid uri " + quote(u) + ": spaces and control characters must be escaped";
  const std::string_view rest = u.substr(scheme_end + 3);
  if (auto problem = authority_problem(rest.substr(0, rest.find_first_of("/?#"))))
    return "invalid uri " + quote(u) + ": " + *problem;
  return std::nullopt;
}

std::optional<std::string> read_uri(const field& f) {
  auto text = f.as_string();
  if (!text) return std::nullopt;
  if (auto problem = uri_problem(*text)) {
    f.error(*problem);
    return std::nullopt;
  }
  return text;
}

// Knative Destination's `CACerts`: the PEM certificates an https `uri` must chain to, beside it.
// Checked for PEM's shape here; OpenSSL reads them when the step is made.
void read_ca_certs(const mapping& m, std::string_view uri, std::string& out) {
  auto v = m.get("CACerts");
  if (!v) return;
  auto text = v->as_string();
  if (!text) return;
  if (!iequals(uri.substr(0, 8), "https://")) {
    v->error(
        "CACerts goes with an https:// uri: it says which CAs the server's certificate "
        "must chain to");
  } else if (text->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    v->error("expected PEM certificates (-----BEGIN CERTIFICATE----- ...)");
  } else {
    out = *text;
  }
}

// ---- refs ----------------------------------------------------------------------------------

struct ref_read {
  std::string kind, name;
  location where;  // of the name
};

// `ref: {apiVersion, kind, name, namespace}`: Knative's KReference. apiVersion and namespace are
// accepted and ignored (one file is one namespace).
std::optional<ref_read> read_ref(const mapping& m) {
  if (auto v = m.get("apiVersion")) (void)v->as_string();
  if (auto v = m.get("namespace")) (void)v->as_string();
  ref_read r;
  std::optional<std::string> kind;
  if (auto v = m.get("kind")) {
    kind = v->as_string();
    if (!kind) return std::nullopt;
    r.kind = *kind;
  }
  auto name = m.require("name");
  if (!name) return std::nullopt;
  auto text = name->as_string();
  if (!text) return std::nullopt;
  if (text->empty()) {
    name->error("must not be empty");
    return std::nullopt;
  }
  r.name = *text;
  r.where = name->where();
  return r;
}

bool names_a_function(std::string_view kind) {
  return kind.empty() || kind == "Function" || kind == "Service";
}

// ---- SINK ----------------------------------------------------------------------------------

std::string list_given(const std::vector<std::pair<std::string_view, field>>& given) {
  return fmt::format("{} and {}", given[0].first, given[1].first);
}

void read_sink_ref(const mapping& m, sink_spec& s) {
  auto r = read_ref(m);
  if (!r) return;
  if (is_source_kind(r->kind)) {
    m.get("kind")->error(fmt::format("a {} sends events and cannot receive them", r->kind));
    return;
  }
  const std::vector<std::string_view> kinds = {"Function", "Service", "Parallel",       "Sequence",
                                               "Broker",   "Channel", "InMemoryChannel"};
  if (std::find(kinds.begin(), kinds.end(), r->kind) == kinds.end() && !r->kind.empty()) {
    m.get("kind")->error(fmt::format(
        "expected Function, Service, Parallel, Sequence, Broker, Channel or InMemoryChannel (a "
        "document of this file), got {}{}",
        quote(r->kind), did_you_mean(r->kind, kinds)));
    return;
  }
  s.ref = r->name;
  s.ref_kind = r->kind;
  s.where = r->where;
  s.field = m.self().path();
}

// ---- DELIVERY ------------------------------------------------------------------------------

std::optional<std::chrono::milliseconds> read_duration(const field& f) {
  auto text = f.as_string();
  if (!text) return std::nullopt;
  auto d = parse_duration(*text);
  if (!d) {
    f.error(d.error());
    return std::nullopt;
  }
  return *d;
}

// ---- STEP ----------------------------------------------------------------------------------

// What a STEP is given as (one of them), then what may come beside it.
std::vector<std::string_view> step_kinds() {
  std::vector<std::string_view> keys = {"ref", "command", "uri", "builtin"};
  keys.insert(keys.end(), std::begin(event::filter_dialects), std::end(event::filter_dialects));
  return keys;
}

std::vector<std::string_view> step_keys(bool with_delivery) {
  std::vector<std::string_view> keys = step_kinds();
  keys.push_back("CACerts");
  if (with_delivery) keys.push_back("delivery");
  return keys;
}

void read_step_ref(const field& value, role r, step_spec& st) {
  auto m = value.as_mapping(ref_keys);
  if (!m) return;
  auto ref = read_ref(*m);
  if (!ref) return;
  if (!names_a_function(ref->kind)) {
    const bool flow = ref->kind == "Parallel" || ref->kind == "Sequence";
    m->get("kind")->error(
        fmt::format("kind {} cannot be a {}: {}{}", ref->kind, role_name(r), what_it_may_be(r),
                    flow ? fmt::format(" (a {} can be a reply)", ref->kind) : ""));
    return;
  }
  st.type = step_spec::kind::function;
  st.function = ref->name;
  st.ref_kind = ref->kind;
  st.where = ref->where;
  st.field = m->self().path();
}

// `command_name` is $0 of an inline command: the flow's name and the step's role.
step_spec read_step(const mapping& m, role r, const std::string& command_name) {
  step_spec st;
  st.where = m.self().where();
  st.field = m.self().path();
  std::vector<std::pair<std::string_view, field>> given;
  for (std::string_view key : step_kinds())
    if (auto v = m.get(key)) given.emplace_back(key, *v);
  if (given.empty()) {
    m.error(r == role::filter ? "expected one of ref, command, uri or an attribute filter (exact, "
                                "prefix, suffix, all, any, not, cesql)"
                              : "expected one of ref, command, uri or builtin");
    return st;
  }
  // An attribute filter: its dialects are keys of this mapping, read by the event module's
  // grammar (filter_grammar.h), which also reports two of them given together.
  if (r == role::filter && std::all_of(given.begin(), given.end(), [](const auto& g) {
        return event::is_filter_dialect(g.first);
      })) {
    if (auto f = event::read_filter_keys(m, spec_filter_rules)) {
      st.type = step_spec::kind::attributes;
      st.attributes = event::as_json(*f);
    }
    read_ca_certs(m, "", st.ca_certs);
    return st;
  }
  if (given.size() > 1) {
    const auto& [first, second] = std::pair(given[0].first, given[1].first);
    if (first == "ref" && second == "uri") {
      given[1].second.error(
          "ref and uri together (Knative resolves the uri against the ref) are not supported: "
          "give one of them");
    } else {
      given[1].second.error(fmt::format(
          "give one of {}, not both {}",
          r == role::filter ? "ref, command, uri or a filter" : "ref, command, uri or builtin",
          list_given(given)));
    }
    return st;
  }
  const auto& [key, value] = given[0];
  st.where = value.where();
  st.field = value.path();
  if (key == "ref") {
    read_step_ref(value, r, st);
  } else if (key == "command") {
    if (auto argv = read_command_argv(value, command_name)) {
      st.type = step_spec::kind::command;
      st.argv = std::move(*argv);
    }
  } else if (key == "uri") {
    if (auto uri = read_uri(value)) {
      st.type = step_spec::kind::uri;
      st.uri = *uri;
    }
  } else if (key == "builtin") {
    if (value.as_choice<builtin>(builtins)) {
      if (r == role::filter)
        value.error("builtin display cannot filter: it shows events and returns none");
      else
        st.type = step_spec::kind::display;
    }
  } else {
    value.error("attribute filters can only filter: " + what_it_may_be(r));
  }
  read_ca_certs(m, st.type == step_spec::kind::uri ? st.uri : "", st.ca_certs);
  return st;
}

// ---- ceOverrides ---------------------------------------------------------------------------

// CloudEvents context attributes: an extension by one of these names would clash with them.
constexpr std::string_view context_attributes[] = {"id",   "source",          "specversion",
                                                   "type", "datacontenttype", "dataschema",
                                                   "time", "subject",         "data"};

}  // namespace

void read_ce_overrides(const field& f, std::vector<std::pair<std::string, std::string>>& out,
                       bool spec_sets_type) {
  auto m = f.as_mapping({"extensions"});
  if (!m) return;
  auto ext = m->get("extensions");
  if (!ext) return;
  auto entries = ext->as_entries();
  if (!entries) return;
  for (const auto& [key, value] : *entries) {
    const std::string& name = key.node().Scalar();
    // Knative's rule for ceOverrides: CloudEvents' lower-case letters and digits, at most 20.
    if (name.empty() || name.size() > 20 ||
        !std::all_of(name.begin(), name.end(), is_lower_alnum)) {
      key.error(
          fmt::format("invalid extension name {}: expected 1 to 20 lower-case letters and digits",
                      quote(name)));
      continue;
    }
    if (std::find(std::begin(context_attributes), std::end(context_attributes), name) !=
        std::end(context_attributes)) {
      key.error(fmt::format("{} is a CloudEvents context attribute, not an extension{}",
                            quote(name),
                            spec_sets_type && (name == "type" || name == "source")
                                ? fmt::format(" (set it with spec.{})", name)
                                : ""));
      continue;
    }
    if (auto text = value.as_string()) out.emplace_back(name, *text);
  }
}

sink_spec read_sink(const field& f) {
  sink_spec s;
  s.where = f.where();
  s.field = f.path();
  auto m = f.as_mapping(sink_keys);
  if (!m) return s;
  std::vector<std::pair<std::string_view, field>> given, legacy;
  for (std::string_view key : {"topic", "ref", "uri", "builtin"})
    if (auto v = m->get(key)) given.emplace_back(key, *v);
  for (std::string_view key : {"apiVersion", "kind", "name", "namespace"})
    if (auto v = m->get(key)) legacy.emplace_back(key, *v);
  if (given.empty() && legacy.empty()) {
    f.error("expected one of topic, ref, uri or builtin");
    return s;
  }
  if (given.size() > 1) {
    const bool ref_and_uri = given[0].first == "ref" && given[1].first == "uri";
    given[1].second.error(ref_and_uri ? "ref and uri together (Knative resolves the uri against "
                                        "the ref) are not supported: give one of them"
                                      : "give one of topic, ref, uri or builtin, not both " +
                                            list_given(given));
    return s;
  }
  if (!given.empty() && !legacy.empty()) {
    legacy[0].second.error(fmt::format("{} belongs under ref", legacy[0].first));
    return s;
  }
  if (given.empty()) {
    read_sink_ref(*m, s);
    return s;
  }
  const auto& [key, value] = given[0];
  s.where = value.where();
  s.field = value.path();
  if (key == "topic") {
    if (auto topic = read_topic(value)) {
      s.type = sink_spec::kind::topic;
      s.topic = *topic;
    }
  } else if (key == "ref") {
    if (auto ref = value.as_mapping(ref_keys)) read_sink_ref(*ref, s);
  } else if (key == "uri") {
    if (auto uri = read_uri(value)) {
      s.type = sink_spec::kind::uri;
      s.uri = *uri;
    }
  } else if (value.as_choice<builtin>(builtins)) {
    s.type = sink_spec::kind::display;
  }
  read_ca_certs(*m, s.type == sink_spec::kind::uri ? s.uri : "", s.ca_certs);
  return s;
}

delivery_spec read_delivery(const field& f) {
  delivery_spec d;
  auto m = f.as_mapping({"retry", "backoffPolicy", "backoffDelay", "timeout", "deadLetterSink"});
  if (!m) return d;
  if (auto v = m->get("retry")) {
    if (auto n = v->as_int(0, int32_max)) d.retry = static_cast<int>(*n);
  }
  if (auto v = m->get("backoffPolicy")) {
    if (auto p = v->as_choice<backoff_policy>(backoff_policies)) d.policy = *p;
  }
  if (auto v = m->get("backoffDelay")) {
    if (auto delay = read_duration(*v)) d.backoff_delay = *delay;
  }
  if (auto v = m->get("timeout")) {
    if (auto timeout = read_duration(*v)) {
      if (timeout->count() == 0)
        v->error("must be longer than zero: every attempt would time out at once");
      else
        d.timeout = *timeout;
    }
  }
  if (auto v = m->get("deadLetterSink")) d.dead_letter = read_sink(*v);
  return d;
}

std::optional<step_spec> read_step_field(const field& f, role r, const std::string& command_name,
                                         bool with_delivery, delivery_spec* delivery) {
  auto m = f.as_mapping(step_keys(with_delivery));
  if (!m) return std::nullopt;
  step_spec st = read_step(*m, r, command_name);
  if (delivery) {
    if (auto v = m->get("delivery")) *delivery = read_delivery(*v);
  }
  return st;
}

std::string_view to_string(backoff_policy p) {
  for (const auto& c : backoff_policies)
    if (c.value == p) return c.spelling;
  return "?";
}

}  // namespace shfn::config
