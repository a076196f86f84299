#include "wire/topic_name.h"

#include <charconv>
#include <vector>

#include "base/strings.h"
#include "wire/errc.h"

namespace shfn::wire {
namespace {

constexpr std::string_view partition_marker = "-partition-";

bool valid_local(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= ' ' || c == 0x7f || c == '/') return false;
  }
  return true;
}

}  // namespace

bool valid_entity_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '=' || c == ':' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string topic_name::base() const {
  return std::string(persistent ? "persistent://" : "non-persistent://") + tenant + "/" + ns + "/" +
         local;
}

std::string topic_name::str() const {
  return partition < 0 ? base()
                       : base() + std::string(partition_marker) + std::to_string(partition);
}

topic_name topic_name::partition_of(int index) const {
  topic_name t = *this;
  t.partition = index;
  return t;
}

result<topic_name> parse_topic_name(std::string_view name) {
  topic_name t;
  std::string_view rest = name;
  if (auto pos = name.find("://"); pos != std::string_view::npos) {
    std::string_view domain = name.substr(0, pos);
    if (domain == "persistent") {
      t.persistent = true;
    } else if (domain == "non-persistent") {
      t.persistent = false;
    } else {
      return fail(errc::bad_topic_name);
    }
    rest = name.substr(pos + 3);
  }
  auto parts = split(rest, '/');
  if (parts.size() == 1 && name.find("://") == std::string_view::npos) {
    t.tenant = "public";
    t.ns = "default";
    t.local = parts[0];
  } else if (parts.size() == 3) {
    t.tenant = parts[0];
    t.ns = parts[1];
    t.local = parts[2];
  } else {
    return fail(errc::bad_topic_name);
  }
  if (!valid_entity_name(t.tenant) || !valid_entity_name(t.ns) || !valid_local(t.local)) {
    return fail(errc::bad_topic_name);
  }
  if (auto pos = t.local.rfind(partition_marker); pos != std::string::npos) {
    std::string_view digits = std::string_view(t.local).substr(pos + partition_marker.size());
    int index = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size() && index >= 0) {
      t.partition = index;
      t.local.resize(pos);
    }
  }
  return t;
}

}  // namespace shfn::wire
