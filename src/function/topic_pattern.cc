#include "function/topic_pattern.h"

#include <system_error>

namespace shfn::function {

result<topic_pattern> topic_pattern::compile(std::string_view full) {
  const auto scheme = full.find("://");
  const auto slash1 = scheme == std::string_view::npos ? scheme : full.find('/', scheme + 3);
  const auto slash2 = slash1 == std::string_view::npos ? slash1 : full.find('/', slash1 + 1);
  if (slash2 == std::string_view::npos) {
    return fail(std::make_error_code(std::errc::invalid_argument));
  }
  topic_pattern p;
  p.persistent_ = full.substr(0, scheme) == "persistent";
  p.ns_ = std::string(full.substr(scheme + 3, slash2 - scheme - 3));
  try {
    p.regex_ = std::regex(std::string(full.substr(scheme + 3)), std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    return fail(std::make_error_code(std::errc::invalid_argument));
  }
  return p;
}

bool topic_pattern::matches(const wire::topic_name& t) const {
  if (t.persistent != persistent_) return false;
  const std::string name = t.tenant + "/" + t.ns + "/" + t.local;
  try {
    return std::regex_match(name, regex_);
  } catch (const std::regex_error&) {
    return false;  // too complex for std::regex on this name: as good as no match
  }
}

topic_pattern::selection topic_pattern::select(
    const std::vector<std::string>& listed, const std::set<std::string>& subscribed,
    const std::function<bool(const std::string&)>& own) const {
  std::set<std::string> found;  // a partitioned topic is listed once per partition
  std::set<std::string> own_found;
  for (const auto& name : listed) {
    auto t = wire::parse_topic_name(name);
    if (!t || !matches(*t)) continue;
    std::string base = t->base();
    if (subscribed.contains(base)) continue;
    (own(base) ? own_found : found).insert(std::move(base));
  }
  return {{found.begin(), found.end()}, {own_found.begin(), own_found.end()}};
}

}  // namespace shfn::function
