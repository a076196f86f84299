#include "event/environment.h"

namespace shfn::event {

std::string env_name(std::string_view attribute_name) {
  std::string out(env_prefix);
  for (char c : attribute_name) out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  return out;
}

env_list event_environment(const cloud_event& e) {
  env_list env;
  for (auto [name, value] : attributes(e)) {
    if (!is_valid_attribute_name(name) || value.find('\0') != std::string_view::npos) continue;
    env.emplace_back(env_name(name), std::string(value));
  }
  return env;
}

std::vector<std::string> apply_metadata(cloud_event& e, const attribute_list& attributes) {
  std::vector<std::string> warnings;
  for (const auto& [name, value] : attributes) {
    auto warn = [&, &name = name](std::string why) {
      warnings.push_back("ce." + name + ": " + std::move(why));
    };
    if (auto why = attribute_name_problem(name)) {
      warn(*why);
    } else if (name == "specversion") {
      if (value != e.specversion) warn("specversion cannot be changed");
    } else if (value.empty()) {
      if (name == "id" || name == "source" || name == "type") {
        warn("required attribute \"" + name + "\" cannot be unset");
      } else {
        remove_attribute(e, name);
      }
    } else if (auto problem = attribute_value_problem(name, value)) {
      warn(*problem);
    } else {
      (void)set_attribute(e, name, value);
    }
  }
  return warnings;
}

}  // namespace shfn::event
