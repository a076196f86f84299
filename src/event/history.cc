#include "event/history.h"

#include "base/strings.h"
#include "event/text.h"

namespace shfn::event {

std::vector<std::string> history(const cloud_event& e) {
  std::vector<std::string> out;
  const auto value = attribute(e, history_extension);
  if (!value) return out;
  for (auto part : split(*value, ';')) {
    part = trim(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

bool append_history(cloud_event& e, std::string_view topic, std::size_t limit) {
  topic = trim(topic);
  if (topic.empty() || topic.find(';') != std::string_view::npos || string_problem(topic)) {
    return false;
  }
  auto entries = history(e);
  entries.emplace_back(topic);
  const std::size_t keep = limit == 0 ? 1 : limit;
  if (entries.size() > keep)
    entries.erase(entries.begin(), entries.end() - static_cast<long>(keep));
  std::string value;
  for (const auto& entry : entries) {
    if (!value.empty()) value += history_separator;
    value += entry;
  }
  (void)set_attribute(e, history_extension, std::move(value));
  return true;
}

}  // namespace shfn::event
