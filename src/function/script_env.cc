#include "function/script_env.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace shfn::function {

namespace {

std::string config_value_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace

std::string env_suffix(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    out.push_back(std::isalnum(c) != 0 ? static_cast<char>(std::toupper(c)) : '_');
  }
  return out;
}

// Environment strings end at a NUL; a value holding one could not be passed intact, so it is
// left out rather than cut short.
void set_variable(environment& env, std::string name, std::string value) {
  if (value.find('\0') != std::string::npos) return;
  std::erase_if(env, [&](const auto& kv) { return kv.first == name; });
  env.emplace_back(std::move(name), std::move(value));
}

environment inherited_environment(const char* const* inherited) {
  environment env;
  for (auto* e = inherited; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos || kv.starts_with("SHFN_")) continue;
    env.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

environment base_environment(const config::function_spec& spec, int instance,
                             const char* const* inherited) {
  environment env = inherited_environment(inherited);
  for (const auto& [name, value] : spec.env) set_variable(env, name, value);
  set_variable(env, "SHFN_FUNCTION", spec.name);
  set_variable(env, "SHFN_INSTANCE", std::to_string(instance));
  set_variable(env, "SHFN_USER_CONFIG", spec.user_config.dump());
  if (spec.user_config.is_object()) {
    for (const auto& [key, value] : spec.user_config.items()) {
      set_variable(env, "SHFN_CONFIG_" + env_suffix(key), config_value_text(value));
    }
  }
  return env;
}

environment message_environment(const client::message& m) {
  environment env;
  set_variable(env, "SHFN_TOPIC", m.topic);
  set_variable(env, "SHFN_MESSAGE_ID", m.id.str());
  if (m.key) set_variable(env, "SHFN_KEY", *m.key);
  set_variable(env, "SHFN_PUBLISH_TIME", std::to_string(m.publish_time));
  if (m.event_time != 0) set_variable(env, "SHFN_EVENT_TIME", std::to_string(m.event_time));
  set_variable(env, "SHFN_REDELIVERY_COUNT", std::to_string(m.redelivery_count));
  set_variable(env, "SHFN_PRODUCER_NAME", m.producer_name);
  nlohmann::json properties = nlohmann::json::object();
  for (const auto& [name, value] : m.properties) {
    properties[name] = value;
    set_variable(env, "SHFN_PROP_" + env_suffix(name), value);
  }
  // Property values are arbitrary bytes; replace what is not UTF-8 rather than fail the dump.
  set_variable(env, "SHFN_PROPERTIES",
               properties.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return env;
}

}  // namespace shfn::function
