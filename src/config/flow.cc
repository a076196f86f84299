// The flow kinds, first pass: Parallel, Sequence and the cron sources read one document at a
// time, with their STEP (filter, subscriber, sequence step), SINK (reply, sink, deadLetterSink)
// and DELIVERY shapes. A `ref` is only recorded here; resolve.cc ties it to the document it
// names once the whole file is read.

#include "config/flow.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <regex>

#include "base/base64.h"
#include "config/duration.h"
#include "config/kinds.h"
#include "cron/schedule.h"
#include "cron/zone.h"
#include "event/filter_grammar.h"
#include "wire/topic_name.h"

namespace shfn::config {
namespace {

using json = nlohmann::json;

constexpr std::int64_t int32_max = std::numeric_limits<std::int32_t>::max();

constexpr choice<backoff_policy> backoff_policies[] = {{"exponential", backoff_policy::exponential},
                                                       {"linear", backoff_policy::linear}};
constexpr choice<bool> channel_kinds[] = {{"InMemoryChannel", true}, {"PersistentChannel", false}};
enum class builtin { display };
constexpr choice<builtin> builtins[] = {{"display", builtin::display}};

// A spec file's filter is never empty: there, an empty one is a mistake.
constexpr event::filter_rules spec_filter_rules{.allow_empty = false};

const std::vector<std::string_view> ref_keys = {"apiVersion", "kind", "name", "namespace"};
// `apiVersion`, `kind`, `name` and `namespace` directly in a sink are Knative's older
// ObjectReference form (v1alpha1 sources and flows), read as a ref.
const std::vector<std::string_view> sink_keys = {"topic",      "ref",  "uri",  "builtin",
                                                 "apiVersion", "kind", "name", "namespace"};

// What a STEP is used as: the words of its messages, and what it may be.
enum class role { filter, subscriber, step };

std::string_view role_name(role r) {
  return r == role::filter ? "filter" : r == role::subscriber ? "subscriber" : "step";
}

std::string what_it_may_be(role r) {
  return r == role::filter
             ? "a filter must be a Function, a command, a uri or an attribute filter (exact, "
               "prefix, suffix, all, any, not)"
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

// An absolute http:// URL: the runtime POSTs events to it. TLS would need certificates and
// their configuration, which nothing provides yet.
std::optional<std::string> uri_problem(std::string_view u) {
  const auto scheme_end = u.find("://");
  const std::string scheme =
      scheme_end == std::string_view::npos ? "" : std::string(u.substr(0, scheme_end));
  if (iequals(scheme, "https")) return "TLS is not supported for uri yet: use an http:// URL";
  if (!iequals(scheme, "http"))
    return "expected an absolute http:// URL (http://HOST[:PORT]/PATH), got " + quote(u);
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
  if (is_cron_kind(r->kind)) {
    m.get("kind")->error(fmt::format("a {} sends events and cannot receive them", r->kind));
    return;
  }
  if (!names_a_function(r->kind) && r->kind != "Parallel" && r->kind != "Sequence") {
    const std::vector<std::string_view> kinds = {"Function", "Service", "Parallel", "Sequence"};
    m.get("kind")->error(fmt::format(
        "expected Function, Service, Parallel or Sequence (a document of this file), got {}{}",
        quote(r->kind), did_you_mean(r->kind, kinds)));
    return;
  }
  s.ref = r->name;
  s.ref_kind = r->kind;
  s.where = r->where;
  s.field = m.self().path();
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
  return s;
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

// ---- STEP ----------------------------------------------------------------------------------

std::vector<std::string_view> step_keys(bool with_delivery) {
  std::vector<std::string_view> keys = {"ref", "command", "uri", "builtin"};
  keys.insert(keys.end(), std::begin(event::filter_dialects), std::end(event::filter_dialects));
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
  for (std::string_view key : step_keys(false))
    if (auto v = m.get(key)) given.emplace_back(key, *v);
  if (given.empty()) {
    m.error(r == role::filter ? "expected one of ref, command, uri or an attribute filter (exact, "
                                "prefix, suffix, all, any, not)"
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
  return st;
}

std::optional<step_spec> read_step_field(const field& f, role r, const std::string& command_name,
                                         bool with_delivery, delivery_spec* delivery = nullptr) {
  auto m = f.as_mapping(step_keys(with_delivery));
  if (!m) return std::nullopt;
  step_spec st = read_step(*m, r, command_name);
  if (delivery) {
    if (auto v = m->get("delivery")) *delivery = read_delivery(*v);
  }
  return st;
}

// ---- channels ------------------------------------------------------------------------------

struct channels {
  std::optional<wire::topic_name> ingress;  // nullopt after an error
  bool in_memory = false;

  // `<ingress>-<part>-<index>` beside the ingress: the topic of a branch or step.
  std::string derived(std::string_view part, std::size_t index) const {
    if (!ingress) return {};
    wire::topic_name t = *ingress;
    t.local = fmt::format("{}-{}-{}", ingress->local, part, index);
    return t.str();
  }
};

// `channelTemplate` and `ingress`. Knative's InMemoryChannel loses events on a restart, as a
// non-persistent topic does; anything durable (the default) is a persistent topic.
channels read_channels(const document& doc, const mapping& spec) {
  channels c;
  std::optional<bool> template_in_memory;
  if (auto v = spec.get("channelTemplate")) {
    if (auto t = v->as_mapping({"apiVersion", "kind", "spec"})) {
      if (auto api = t->get("apiVersion")) (void)api->as_string();
      // `spec` holds settings of Knative's channel implementations: nothing to apply here.
      if (auto kind = t->require("kind")) template_in_memory = kind->as_choice<bool>(channel_kinds);
    }
  }
  c.in_memory = template_in_memory.value_or(false);
  auto ingress = spec.get("ingress");
  const std::string text =
      ingress ? ingress->as_string().value_or("") : doc.name;  // the flow's name by default
  if (text.empty()) return c;  // an error was reported (here or for the name)
  const field& at = ingress ? *ingress : spec.self();
  auto topic = wire::parse_topic_name(text);
  if (!topic) {
    at.error(
        fmt::format("invalid topic name {}: expected NAME, TENANT/NAMESPACE/NAME or "
                    "persistent://TENANT/NAMESPACE/NAME",
                    quote(text)));
    return c;
  }
  if (topic->partition >= 0) {
    at.error(
        "must not name a partition (-partition-N): the flow's channels are topics "
        "of their own");
    return c;
  }
  if (ingress && text.starts_with("persistent://") && template_in_memory.value_or(false)) {
    ingress->error(
        "a persistent:// ingress with channelTemplate kind InMemoryChannel: give a short name "
        "or non-persistent://, or use PersistentChannel");
    return c;
  }
  if (!topic->persistent) {
    if (template_in_memory == false) {
      at.error(
          "a non-persistent:// ingress with channelTemplate kind PersistentChannel: use "
          "InMemoryChannel, or a persistent topic");
      return c;
    }
    c.in_memory = true;  // without a channelTemplate, the ingress says which
  }
  topic->persistent = !c.in_memory;
  c.ingress = *topic;
  return c;
}

// ---- cron sources --------------------------------------------------------------------------

// Knative decodes dataBase64 with Go's base64.StdEncoding: padding required, bits of the last
// character that make no byte ignored. Spaces and line breaks (from YAML folding) are skipped.
std::optional<std::string> decode_base64(const field& f, std::string_view text) {
  auto decoded = base64_decode(
      text, {.require_padding = true, .skip_whitespace = true, .ignore_leftover_bits = true});
  if (decoded) return std::string(decoded->begin(), decoded->end());
  const base64_error& e = decoded.error();
  if (e.what == base64_error::kind::length) {
    f.error(
        fmt::format("invalid base64: {} characters, not a multiple of 4 (is = padding missing?)",
                    e.characters));
  } else {
    f.diags().error(f.where_at(e.offset), f.path(),
                    fmt::format("invalid base64: unexpected {} at offset {} (expected A-Z, a-z, "
                                "0-9, + and /, with = padding at the end)",
                                quote(text.substr(e.offset, 1)), e.offset));
  }
  return std::nullopt;
}

// CloudEvents context attributes: an extension by one of these names would clash with them.
constexpr std::string_view context_attributes[] = {"id",   "source",          "specversion",
                                                   "type", "datacontenttype", "dataschema",
                                                   "time", "subject",         "data"};

void read_extensions(const field& f, cron_source_spec& c) {
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
      key.error(fmt::format(
          "{} is a CloudEvents context attribute, not an extension{}", quote(name),
          name == "type" || name == "source" ? fmt::format(" (set it with spec.{})", name) : ""));
      continue;
    }
    if (auto text = value.as_string()) c.extensions.emplace_back(name, *text);
  }
}

// A media type: TYPE/SUBTYPE with optional parameters (RFC 6838 token characters).
bool valid_media_type(std::string_view s) {
  static const std::regex re(R"([!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?)");
  return std::regex_match(s.begin(), s.end(), re);
}

void read_schedule(const mapping& spec, cron_source_spec& c) {
  auto schedule = spec.require("schedule");
  std::optional<std::string> prefix_zone;
  std::size_t prefix_zone_offset = 0;
  if (schedule) {
    auto text = schedule->as_string();
    if (!text) return;
    auto parsed = cron::parse_schedule(*text);
    if (!parsed) {
      schedule->diags().error(schedule->where_at(parsed.error().column), schedule->path(),
                              parsed.error().message);
    } else {
      c.schedule = *text;
      if (!parsed->zone_name.empty()) {
        prefix_zone = parsed->zone_name;
        prefix_zone_offset = text->find('=') + 1;
      }
    }
  }
  auto timezone = spec.get("timezone");
  if (timezone) {
    auto name = timezone->as_string();
    if (!name) return;
    if (prefix_zone) {
      timezone->error(fmt::format(
          "the schedule already names a zone (CRON_TZ={}): give the zone in one place only",
          *prefix_zone));
      return;
    }
    auto zone = cron::zone::load(*name);
    if (!zone) {
      timezone->error(zone.error().message);
      return;
    }
    c.timezone = *name;
  } else if (prefix_zone) {
    auto zone = cron::zone::load(*prefix_zone);
    if (!zone) {
      schedule->diags().error(schedule->where_at(prefix_zone_offset), schedule->path(),
                              zone.error().message);
      return;
    }
    c.timezone = *prefix_zone;
  }
}

void read_data(const mapping& spec, cron_source_spec& c) {
  std::vector<std::pair<std::string_view, field>> given;
  for (std::string_view key : {"data", "dataBase64", "jsonData"})
    if (auto v = spec.get(key)) given.emplace_back(key, *v);
  if (given.size() > 1) {
    given[1].second.error(fmt::format("give {} or {}, not both", given[0].first, given[1].first));
    return;
  }
  std::string default_type;
  if (!given.empty()) {
    const auto& [key, value] = given[0];
    auto text = value.as_string();
    if (!text) return;
    if (key == "dataBase64") {
      auto bytes = decode_base64(value, *text);
      if (!bytes) return;
      c.data = std::move(*bytes);
      default_type = "application/octet-stream";
    } else {
      // jsonData is the older PingSource's (v1alpha2, v1beta1) name for JSON data.
      if (key == "jsonData" && !json::accept(*text)) {
        value.error("not valid JSON");
        return;
      }
      c.data = *text;
      default_type = json::accept(c.data) ? "application/json" : "text/plain";
    }
  }
  if (auto v = spec.get("contentType")) {
    auto text = v->as_string();
    if (!text) return;
    if (!valid_media_type(*text)) {
      v->error(fmt::format("invalid media type {}: expected TYPE/SUBTYPE, e.g. application/json",
                           quote(*text)));
      return;
    }
    c.content_type = *text;
  } else if (!c.data.empty()) {
    c.content_type = default_type;
  }
}

void read_string(const mapping& spec, std::string_view key, std::string& out) {
  auto v = spec.get(key);
  if (!v) return;
  auto text = v->as_string();
  if (!text) return;
  if (text->empty()) {
    v->error("must not be empty");
    return;
  }
  out = *text;
}

}  // namespace

void parse_parallel(const document& doc, first_pass& pass) {
  parallel_spec& p = pass.out.parallels.emplace_back();
  p.name = doc.name;
  p.where = doc.where;
  auto spec = doc.spec.as_mapping({"ingress", "channelTemplate", "branches", "cases", "reply"});
  if (!spec) return;
  const channels ch = read_channels(doc, *spec);
  if (ch.ingress) p.ingress = ch.ingress->str();
  p.in_memory = ch.in_memory;

  auto branches = spec->get("branches");
  auto cases = spec->get("cases");
  if (branches && cases) {
    cases->error("give branches or cases (Knative's older name for them), not both");
  } else if (!cases) {
    branches = spec->require("branches");
  }
  if (auto list = branches ? branches : cases) {
    auto items = list->as_list();
    if (items && items->empty()) list->error("must list at least one branch");
    for (std::size_t i = 0; items && i < items->size(); ++i) {
      const field& item = (*items)[i];
      branch_spec& b = p.branches.emplace_back();
      b.where = item.where();
      b.topic = ch.derived("branch", i);
      auto m = item.as_mapping({"filter", "subscriber", "reply", "delivery"});
      if (!m) continue;
      const std::string prefix = fmt::format("{}-branch-{}-", doc.name, i);
      if (auto v = m->get("filter"))
        b.filter = read_step_field(*v, role::filter, prefix + "filter", false);
      if (auto v = m->require("subscriber")) {
        if (auto st = read_step_field(*v, role::subscriber, prefix + "subscriber", false))
          b.subscriber = std::move(*st);
      }
      if (auto v = m->get("reply")) b.reply = read_sink(*v);
      if (auto v = m->get("delivery")) b.delivery = read_delivery(*v);
    }
  }
  if (auto v = spec->get("reply")) p.reply = read_sink(*v);
}

void parse_sequence(const document& doc, first_pass& pass) {
  sequence_spec& s = pass.out.sequences.emplace_back();
  s.name = doc.name;
  s.where = doc.where;
  auto spec = doc.spec.as_mapping({"ingress", "channelTemplate", "steps", "reply"});
  if (!spec) return;
  const channels ch = read_channels(doc, *spec);
  if (ch.ingress) s.ingress = ch.ingress->str();
  s.in_memory = ch.in_memory;
  if (auto steps = spec->require("steps")) {
    auto items = steps->as_list();
    if (items && items->empty()) steps->error("must list at least one step");
    for (std::size_t i = 0; items && i < items->size(); ++i) {
      sequence_step_spec& st = s.steps.emplace_back();
      st.topic = i == 0 ? s.ingress : ch.derived("step", i);
      if (auto step = read_step_field((*items)[i], role::step,
                                      fmt::format("{}-step-{}", doc.name, i), true, &st.delivery))
        st.step = std::move(*step);
    }
  }
  if (auto v = spec->get("reply")) s.reply = read_sink(*v);
}

void parse_cron_source(const document& doc, first_pass& pass) {
  cron_source_spec& c = pass.out.cron_sources.emplace_back();
  c.name = doc.name;
  c.kind = std::string(doc.kind);
  c.where = doc.where;
  // Knative's defaults (PingSourceEventType, PingSourceSource; the v1alpha1 CronJobSource's).
  const bool cronjob = doc.kind == "CronJobSource";
  c.type = cronjob ? "dev.knative.cronjob.event" : "dev.knative.sources.ping";
  c.source = fmt::format("/apis/v1/namespaces/default/{}/{}",
                         cronjob ? "cronjobsources" : "pingsources", doc.name);
  auto spec = doc.spec.as_mapping({"schedule", "timezone", "data", "dataBase64", "jsonData",
                                   "contentType", "type", "source", "ceOverrides", "sink"});
  if (!spec) return;
  read_schedule(*spec, c);
  read_data(*spec, c);
  read_string(*spec, "type", c.type);
  read_string(*spec, "source", c.source);
  if (auto v = spec->get("ceOverrides")) read_extensions(*v, c);
  if (auto v = spec->require("sink")) c.sink = read_sink(*v);
}

std::string_view to_string(backoff_policy p) {
  for (const auto& c : backoff_policies)
    if (c.value == p) return c.spelling;
  return "?";
}

}  // namespace shfn::config
