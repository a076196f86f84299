// The Function kind: reads a document's spec into a function_spec, checking each field, then the
// rules that tie fields together (ordering vs. subscription type, mode vs. framing and input).

#include "config/function.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <regex>
#include <system_error>

#include "config/kinds.h"
#include "wire/topic_name.h"

namespace shfn::config {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t int32_max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t max_parallelism = 1024;

// The one table per enum that both parsing and to_string() use.
constexpr choice<guarantee> guarantees[] = {{"ATLEAST_ONCE", guarantee::at_least_once},
                                            {"ATMOST_ONCE", guarantee::at_most_once},
                                            {"EFFECTIVELY_ONCE", guarantee::effectively_once}};
constexpr choice<subscription_kind> subscription_kinds[] = {
    {"Exclusive", subscription_kind::exclusive},
    {"Shared", subscription_kind::shared},
    {"Failover", subscription_kind::failover},
    {"Key_Shared", subscription_kind::key_shared}};
constexpr choice<bool> positions[] = {{"Latest", false}, {"Earliest", true}};
constexpr choice<run_mode> modes[] = {{"exec", run_mode::exec}, {"stream", run_mode::stream}};
constexpr choice<framing> framings[] = {{"lines", framing::lines},
                                        {"nul", framing::nul},
                                        {"length-prefixed", framing::length_prefixed}};
constexpr choice<input_style> input_styles[] = {{"stdin", input_style::stdin_only},
                                                {"arg", input_style::arg}};

template <class E, std::size_t N>
std::string_view spelling(const choice<E> (&table)[N], E value) {
  for (const auto& c : table)
    if (c.value == value) return c.spelling;
  return "?";
}

// topicsPattern names its namespace like a topic name does (a short pattern lives in
// public/default) and its last part is a regular expression over topic names.
std::optional<std::string> read_topics_pattern(const field& f) {
  auto text = f.as_string();
  if (!text) return std::nullopt;
  std::string_view rest = *text;
  std::string domain = "persistent";
  const auto scheme = rest.find("://");
  if (scheme != std::string_view::npos) {
    domain = std::string(rest.substr(0, scheme));
    rest = rest.substr(scheme + 3);
  }
  std::string tenant = "public", ns = "default";
  std::string_view local = rest;
  const auto slash1 = rest.find('/');
  if (slash1 != std::string_view::npos) {
    const auto slash2 = rest.find('/', slash1 + 1);
    if (slash2 == std::string_view::npos) {
      local = {};  // TENANT/REGEX: no namespace
    } else {
      tenant = std::string(rest.substr(0, slash1));
      ns = std::string(rest.substr(slash1 + 1, slash2 - slash1 - 1));
      local = rest.substr(slash2 + 1);
    }
  } else if (scheme != std::string_view::npos) {
    local = {};  // persistent://REGEX: no tenant or namespace
  }
  const std::string full = domain + "://" + tenant + "/" + ns + "/" + std::string(local);
  if (local.empty() || !wire::parse_topic_name(domain + "://" + tenant + "/" + ns + "/x")) {
    f.error(
        fmt::format("invalid topics pattern {}: expected REGEX or "
                    "persistent://TENANT/NAMESPACE/REGEX",
                    quote(*text)));
    return std::nullopt;
  }
  try {
    [[maybe_unused]] const std::regex re(full, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    f.error(fmt::format("invalid regular expression {}: {}", quote(*text), e.what()));
    return std::nullopt;
  }
  return full;
}

// A path relative to the spec file's directory, made absolute (symlinks are kept).
fs::path resolve(const fs::path& base_dir, const std::string& p) {
  return (base_dir / fs::path(p)).lexically_normal();
}

void read_command(const document& doc, const mapping& spec, function_spec& f) {
  auto command = spec.get("command");
  auto script = spec.get("script");
  if (command && script) {
    script->error("give either command or script, not both");
    return;
  }
  if (!command && !script) {
    spec.error("one of command or script is required");
    return;
  }
  if (command) {
    if (auto argv = read_command_argv(*command, doc.name)) f.argv = std::move(*argv);
    return;
  }
  auto text = script->as_string();
  if (!text) return;
  if (text->empty()) return script->error("must not be empty");
  const fs::path path = resolve(doc.base_dir, *text);
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) {
    return script->error(fmt::format("{} does not exist", path.string()));
  }
  if (!fs::is_regular_file(status)) {
    return script->error(fmt::format("{} is not a regular file", path.string()));
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return script->error(fmt::format("{} is not executable (chmod +x it)", path.string()));
  }
  f.script = path.string();
  f.argv = {f.script};
}

// Giving neither inputs nor topicsPattern is no error here: a Parallel or Sequence may run the
// function as a step (the second pass decides; see resolve.cc).
void read_inputs(const document& doc, const mapping& spec, function_spec& f, first_pass& pass) {
  auto inputs = spec.get("inputs");
  auto pattern = spec.get("topicsPattern");
  if (!inputs && !pattern) {
    pass.without_inputs.push_back(
        {.name = doc.name, .where = spec.self().where(), .field = spec.self().path()});
  }
  if (inputs) {
    std::vector<field> items;
    if (inputs->is_scalar()) {
      items.push_back(*inputs);
    } else if (auto list = inputs->as_list()) {
      items = std::move(*list);
      if (items.empty() && !pattern) inputs->error("must list at least one topic");
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto topic = read_topic(items[i]);
      if (!topic) continue;
      auto same = std::find(f.inputs.begin(), f.inputs.end(), *topic);
      if (same != f.inputs.end()) {
        items[i].error(fmt::format("{} is listed twice", *topic));
        continue;
      }
      f.inputs.push_back(*topic);
    }
  }
  if (pattern) {
    if (auto full = read_topics_pattern(*pattern)) {
      f.topics_pattern = *full;
      f.topics_pattern_given = pattern->node().Scalar();
    }
  }
}

// Pulsar Functions refuses these too: a function reading what it writes feeds itself forever.
void read_output_topics(const mapping& spec, function_spec& f) {
  auto read = [&](std::string_view key, std::string& out) {
    auto value = spec.get(key);
    if (!value) return;
    auto topic = read_topic(*value);
    if (!topic) return;
    if (std::find(f.inputs.begin(), f.inputs.end(), *topic) != f.inputs.end()) {
      value->error(fmt::format("{} is also an input: the function would consume its own {}", *topic,
                               key == "output" ? "output" : "messages"));
      return;
    }
    out = *topic;
  };
  read("output", f.output);
  read("logTopic", f.log_topic);
  read("deadLetterTopic", f.dead_letter_topic);
}

// Pulsar Functions' rule: ordering or effectively-once need one active consumer (Failover);
// key ordering needs Key_Shared; anything else spreads messages (Shared).
void read_subscription(const document& doc, const mapping& spec, function_spec& f) {
  f.subscription_name = doc.name;
  if (auto name = spec.get("subscriptionName")) {
    if (auto text = name->as_string()) {
      if (text->empty())
        name->error("must not be empty");
      else
        f.subscription_name = *text;
    }
  }
  if (auto position = spec.get("subscriptionPosition")) {
    if (auto earliest = position->as_choice<bool>(positions)) f.subscription_earliest = *earliest;
  }
  if (auto v = spec.get("retainOrdering")) f.retain_ordering = v->as_bool().value_or(false);
  auto key_ordering = spec.get("retainKeyOrdering");
  if (key_ordering) f.retain_key_ordering = key_ordering->as_bool().value_or(false);
  if (f.retain_ordering && f.retain_key_ordering)
    key_ordering->error("retainOrdering and retainKeyOrdering cannot both be true");
  if (auto v = spec.get("processingGuarantees")) {
    if (auto g = v->as_choice<guarantee>(guarantees)) f.guarantees = *g;
  }

  const bool single_consumer = f.retain_ordering || f.guarantees == guarantee::effectively_once;
  subscription_kind derived = single_consumer         ? subscription_kind::failover
                              : f.retain_key_ordering ? subscription_kind::key_shared
                                                      : subscription_kind::shared;
  f.subscription = derived;
  auto type = spec.get("subscriptionType");
  if (!type) return;
  auto explicit_kind = type->as_choice<subscription_kind>(subscription_kinds);
  if (!explicit_kind) return;
  f.subscription = *explicit_kind;
  f.subscription_explicit = true;
  const auto k = *explicit_kind;
  const bool one_active = k == subscription_kind::exclusive || k == subscription_kind::failover;
  if (f.retain_ordering && !one_active) {
    type->error(
        fmt::format("{} does not keep messages in order: retainOrdering needs Failover "
                    "or Exclusive",
                    to_string(k)));
  } else if (f.guarantees == guarantee::effectively_once && !one_active) {
    type->error(
        fmt::format("EFFECTIVELY_ONCE needs a single active consumer: Failover or "
                    "Exclusive, not {}",
                    to_string(k)));
  } else if (f.retain_key_ordering && k == subscription_kind::shared) {
    type->error(
        "Shared does not keep messages of a key in order: retainKeyOrdering needs "
        "Key_Shared, Failover or Exclusive");
  }
}

void read_execution(const mapping& spec, function_spec& f) {
  auto parallelism = spec.get("parallelism");
  if (parallelism) {
    if (auto n = parallelism->as_int(1, max_parallelism)) f.parallelism = static_cast<int>(*n);
  }
  if (f.subscription == subscription_kind::exclusive && f.parallelism > 1)
    parallelism->error(
        fmt::format("an Exclusive subscription admits one consumer, so "
                    "parallelism must be 1, not {}",
                    f.parallelism));

  if (auto v = spec.get("mode")) {
    if (auto m = v->as_choice<run_mode>(modes)) f.mode = *m;
  }
  if (auto v = spec.get("framing")) {
    if (auto fr = v->as_choice<framing>(framings)) {
      if (f.mode != run_mode::stream)
        v->error("framing applies to mode: stream only (this function is mode: exec)");
      else
        f.frames = *fr;
    }
  }
  if (auto v = spec.get("input")) {
    if (auto in = v->as_choice<input_style>(input_styles)) {
      if (*in == input_style::arg && f.mode != run_mode::exec)
        v->error("input: arg is only allowed in mode: exec (a stream worker is long-lived)");
      else
        f.input = *in;
    }
  }
  if (auto v = spec.get("timeoutMs")) {
    if (auto n = v->as_int(0, int32_max)) f.timeout = std::chrono::milliseconds(*n);
  }
  if (auto v = spec.get("killGraceMs")) {
    if (auto n = v->as_int(0, int32_max)) f.kill_grace = std::chrono::milliseconds(*n);
  }
  if (auto v = spec.get("maxMessageRetries")) {
    if (auto n = v->as_int(0, int32_max)) f.max_message_retries = static_cast<int>(*n);
  }
  if (auto v = spec.get("maxOutputBytes")) {
    if (auto n = v->as_int(1, int32_max)) f.max_output_bytes = static_cast<std::size_t>(*n);
  }
}

void read_environment(const document& doc, const mapping& spec, function_spec& f) {
  if (auto v = spec.get("userConfig")) {
    if (!v->is_mapping()) {
      v->error("expected a mapping, got " + describe(v->node()));
    } else if (auto json = v->as_json()) {
      f.user_config = std::move(*json);
    }
  }
  if (auto v = spec.get("env")) {
    if (auto entries = v->as_entries()) {
      for (const auto& [key, value] : *entries) {
        const std::string& name = key.node().Scalar();
        if (auto problem = env_name_problem(name)) {
          key.error(std::move(*problem));
          continue;
        }
        // `NAME:` with nothing after it is the empty string, as in a shell's `NAME=`.
        if (value.node().IsNull()) {
          f.env.emplace_back(name, "");
        } else if (auto text = value.as_string()) {
          f.env.emplace_back(name, *text);
        }
      }
    }
  }
  read_working_dir(doc, spec, f.working_dir);
}

// Debian policy: lowercase letters, digits, '+', '-', '.'; at least two, starting alphanumeric.
bool valid_package_name(std::string_view s) {
  static const std::regex re("[a-z0-9][a-z0-9+.-]+");
  return std::regex_match(s.begin(), s.end(), re);
}

// A Kubernetes quantity: a decimal number with an optional SI, binary or exponent suffix.
bool valid_quantity(std::string_view s) {
  static const std::regex re(
      R"(\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([numkMGTPE]|[KMGTPE]i|[eE][0-9]+)?)");
  return std::regex_match(s.begin(), s.end(), re);
}

void read_resource_list(const mapping& resources, std::string_view key, resource_list& out) {
  auto value = resources.get(key);
  if (!value) return;
  auto m = value->as_mapping({"cpu", "memory"});
  if (!m) return;
  auto read = [&](std::string_view name, std::string& into) {
    auto v = m->get(name);
    if (!v) return;
    auto text = v->as_string();
    if (!text) return;
    if (!valid_quantity(*text)) {
      v->error(
          fmt::format("invalid quantity {}: expected a number with an optional suffix "
                      "(100m, 0.5, 64Mi, 1G)",
                      quote(*text)));
      return;
    }
    into = *text;
  };
  read("cpu", out.cpu);
  read("memory", out.memory);
}

void read_producer_config(const mapping& spec, function_spec& f) {
  auto value = spec.get("producerConfig");
  if (!value) return;
  auto producer = value->as_mapping({"batchingConfig"});
  if (!producer) return;
  auto batching_field = producer->get("batchingConfig");
  if (!batching_field) return;
  auto batching = batching_field->as_mapping(
      {"enabled", "batchingMaxPublishDelayMs", "batchingMaxMessages", "batchingMaxBytes"});
  if (!batching) return;
  if (f.guarantees == guarantee::effectively_once) {
    batching_field->error(
        "does not apply to EFFECTIVELY_ONCE, which publishes every output on its own");
    return;
  }
  batching_spec& b = f.output_batching;
  if (auto v = batching->get("enabled")) b.enabled = v->as_bool().value_or(b.enabled);
  if (auto v = batching->get("batchingMaxPublishDelayMs")) {
    if (auto n = v->as_int(0, 60000)) b.max_publish_delay = std::chrono::milliseconds(*n);
  }
  if (auto v = batching->get("batchingMaxMessages")) {
    if (auto n = v->as_int(1, int32_max)) b.max_messages = static_cast<int>(*n);
  }
  if (auto v = batching->get("batchingMaxBytes")) {
    if (auto n = v->as_int(1, int32_max)) b.max_bytes = static_cast<std::size_t>(*n);
  }
}

void read_deploy(const mapping& spec, function_spec& f) {
  auto value = spec.get("deploy");
  if (!value) return;
  auto deploy = value->as_mapping({"packages", "resources"});
  if (!deploy) return;
  if (auto packages = deploy->get("packages")) {
    if (auto items = packages->as_list()) {
      for (const auto& item : *items) {
        auto name = item.as_string();
        if (!name) continue;
        if (!valid_package_name(*name)) {
          item.error(fmt::format("invalid Debian package name {}", quote(*name)));
          continue;
        }
        f.deploy.packages.push_back(*name);
      }
    }
  }
  if (auto resources = deploy->get("resources")) {
    if (auto m = resources->as_mapping({"requests", "limits"})) {
      read_resource_list(*m, "requests", f.deploy.requests);
      read_resource_list(*m, "limits", f.deploy.limits);
    }
  }
}

bool valid_env_name(std::string_view s) {
  if (s.empty()) return false;
  auto head = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!head(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return head(c) || (c >= '0' && c <= '9'); });
}

}  // namespace

std::optional<std::string> env_name_problem(std::string_view name) {
  if (!valid_env_name(name))
    return "invalid environment variable name: expected [A-Za-z_][A-Za-z0-9_]*";
  if (name.starts_with("SHFN_")) return "names starting with SHFN_ are reserved for the runtime";
  return std::nullopt;
}

void read_working_dir(const document& doc, const mapping& m, std::string& out) {
  out = doc.base_dir.string();
  auto v = m.get("workingDir");
  if (!v) return;
  auto text = v->as_string();
  if (!text) return;
  const fs::path dir = resolve(doc.base_dir, *text);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    v->error(fmt::format("{} is not a directory", dir.string()));
    return;
  }
  out = dir.string();
}

const std::vector<std::string_view>& function_fields() {
  static const std::vector<std::string_view> fields = {"command",
                                                       "script",
                                                       "inputs",
                                                       "topicsPattern",
                                                       "output",
                                                       "logTopic",
                                                       "deadLetterTopic",
                                                       "subscriptionName",
                                                       "subscriptionType",
                                                       "subscriptionPosition",
                                                       "retainOrdering",
                                                       "retainKeyOrdering",
                                                       "processingGuarantees",
                                                       "parallelism",
                                                       "mode",
                                                       "framing",
                                                       "input",
                                                       "timeoutMs",
                                                       "maxMessageRetries",
                                                       "maxOutputBytes",
                                                       "killGraceMs",
                                                       "userConfig",
                                                       "env",
                                                       "workingDir",
                                                       "producerConfig",
                                                       "deploy"};
  return fields;
}

void parse_function(const document& doc, first_pass& pass) {
  function_spec& f = pass.out.functions.emplace_back();
  f.name = doc.name;
  f.where = doc.where;
  f.working_dir = doc.base_dir.string();
  auto spec = doc.spec.as_mapping(function_fields());
  if (!spec) return;
  read_command(doc, *spec, f);
  read_inputs(doc, *spec, f, pass);
  read_output_topics(*spec, f);
  read_subscription(doc, *spec, f);
  read_execution(*spec, f);
  read_environment(doc, *spec, f);
  read_producer_config(*spec, f);
  read_deploy(*spec, f);
}

std::optional<std::vector<std::string>> read_command_argv(const field& command,
                                                          const std::string& name) {
  if (command.is_scalar()) {
    auto text = command.as_string();
    if (!text) return std::nullopt;
    if (text->empty()) {
      command.error("must not be empty");
      return std::nullopt;
    }
    // bash -c STRING NAME: NAME becomes $0, so an appended payload is $1 (see function.h).
    return std::vector<std::string>{"bash", "-c", *text, name};
  }
  if (!command.is_list()) {
    command.error("expected a string or a list of strings, got " + describe(command.node()));
    return std::nullopt;
  }
  auto items = command.as_list();
  if (items->empty()) {
    command.error("must list at least the program to run");
    return std::nullopt;
  }
  std::vector<std::string> argv;
  bool ok = true;
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto text = (*items)[i].as_string();
    if (text && i == 0 && text->empty()) {
      (*items)[i].error("the program must not be empty");
      text.reset();
    }
    if (text)
      argv.push_back(*text);
    else
      ok = false;
  }
  if (!ok) return std::nullopt;
  return argv;
}

std::string_view to_string(guarantee g) {
  return spelling(guarantees, g);
}
std::string_view to_string(subscription_kind k) {
  return spelling(subscription_kinds, k);
}
std::string_view to_string(run_mode m) {
  return spelling(modes, m);
}
std::string_view to_string(framing f) {
  return spelling(framings, f);
}
std::string_view to_string(input_style i) {
  return spelling(input_styles, i);
}

}  // namespace shfn::config
