#pragma once
// The topics an event crossed, as the extension `shfnhistory`.
//
// Knative's channels once kept the same kind of list in the experimental `knativehistory`
// extension: channel host names joined by "; ". shfn keeps topic names the same way under a name
// of its own, because its entries are topics, not hosts, and a Knative component reading
// `knativehistory` should not misread them. Example value:
//   persistent://public/default/orders; persistent://public/default/orders-kn-parallel-0
//
// The list is bounded (history_limit entries, oldest dropped): it rides on every message as a
// property or HTTP header, and a flow that loops would otherwise grow it without end (HTTP
// servers refuse headers past some 8 KiB). The newest entries are the ones that explain where an
// event just came from.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"

namespace shfn::event {

inline constexpr std::string_view history_extension = "shfnhistory";
inline constexpr std::string_view history_separator = "; ";
inline constexpr std::size_t history_limit = 16;

// The entries, oldest first; separators are split with any surrounding spaces, empty entries
// are dropped (as Knative did).
std::vector<std::string> history(const cloud_event& e);

// Appends `topic` (trimmed of spaces), dropping the oldest entries beyond `limit`. A topic that
// is empty, contains ';' or is no CloudEvents String is not appended (returns false): it could
// not be read back as one entry. A limit of 0 counts as 1.
bool append_history(cloud_event& e, std::string_view topic, std::size_t limit = history_limit);

}  // namespace shfn::event
