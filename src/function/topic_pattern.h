#pragma once
// A function's topicsPattern (docs/functions.md): which topics of a namespace it subscribes to.
// Pure: the instance lists the namespace and subscribes; this decides.
//
// As Pulsar's Java client (TopicList.filterTopics) does, the pattern without its domain is
// matched, whole, against the name without its domain, and a partition is taken for its
// partitioned topic (the name without "-partition-N"): a partitioned topic matches, or not, as a
// whole, and is subscribed through its base name, as an input would be.

#include <functional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "wire/topic_name.h"

namespace shfn::function {

class topic_pattern {
 public:
  // `full` as config/function.cc writes it: DOMAIN://TENANT/NAMESPACE/REGEX. errc
  // invalid_argument when it is not of that form or the regex does not compile.
  static result<topic_pattern> compile(std::string_view full);

  const std::string& ns() const { return ns_; }  // "tenant/namespace", the one to list
  bool persistent() const { return persistent_; }
  bool matches(const wire::topic_name& t) const;

  // What to subscribe to of `listed` (a namespace's topics, partitions one by one): the base
  // names that match and are not `subscribed` yet, sorted and once each. Those that match but
  // `own` says the function publishes to go to `own_matches` instead (a function reading what it
  // writes would feed itself forever).
  struct selection {
    std::vector<std::string> subscribe;
    std::vector<std::string> own_matches;
  };
  selection select(const std::vector<std::string>& listed, const std::set<std::string>& subscribed,
                   const std::function<bool(const std::string&)>& own) const;

 private:
  std::string ns_;
  bool persistent_ = true;
  std::regex regex_;  // over "tenant/namespace/local"
};

}  // namespace shfn::function
