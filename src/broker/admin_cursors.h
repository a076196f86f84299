#pragma once
// Internal to the admin API (admin.cc): an operator moving a subscription's cursor, and a
// topic's last message id. On a partitioned topic each applies to every partition.
//
// clang-format off
//   GET  …/{topic}/lastMessageId                          {"ledgerId", "entryId", ...}
//   PUT  …/{topic}/subscription/{sub}          [body: id]  create-subscription (at the latest
//                                                          message unless the body names one)
//   POST …/{topic}/subscription/{sub}/skip_all             clear-backlog
//   POST …/{topic}/subscription/{sub}/skip/{n}             skip n entries
//   POST …/{topic}/subscription/{sub}/resetcursor/{ms}     to the first message published then
//   POST …/{topic}/subscription/{sub}/resetcursor  body: id  to that message
//   POST …/{topic}/subscription/{sub}/expireMessages/{s}   skip what is older than s seconds
// clang-format on
//
// reset-cursor moves the cursor as a seek does (subscription::seek): its consumers are closed and
// subscribe again from the new position, as on Pulsar. skip, clear-backlog and expire-messages
// only move it forward, settling what they pass as a cumulative ack would, and keep the
// consumers (subscription::skip_to).

#include <optional>
#include <vector>

#include "http/http.h"
#include "wire/topic_name.h"

namespace shfn::broker {

class topic_registry;

// The answer when the request is one of the routes above; nullopt otherwise. `parts` are the
// topics the name stands for (a partitioned topic's partitions); empty when it does not exist.
std::optional<http::http_response> cursor_routes(topic_registry& topics,
                                                 const http::http_request& r,
                                                 const std::vector<wire::topic_name>& parts);

}  // namespace shfn::broker
