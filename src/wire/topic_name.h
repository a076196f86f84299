#pragma once
// Topic names as Pulsar spells them: domain://tenant/namespace/local[-partition-N].
// Short names expand as Pulsar's do: "foo" -> persistent://public/default/foo.

#include <string>
#include <string_view>

#include "base/result.h"

namespace shfn::wire {

struct topic_name {
  bool persistent = true;
  std::string tenant;
  std::string ns;
  std::string local;  // without any -partition-N suffix
  int partition = -1;

  std::string str() const;   // full name, with the partition suffix when partition >= 0
  std::string base() const;  // full name without the partition suffix
  topic_name partition_of(int index) const;
};

result<topic_name> parse_topic_name(std::string_view name);

// Pulsar's NamedEntity rule for tenant, namespace and cluster names: [-=:.\w]+.
bool valid_entity_name(std::string_view name);

}  // namespace shfn::wire
