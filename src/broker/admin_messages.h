#pragma once
// Internal to the admin API (admin.cc): stored messages as Pulsar's admin API returns them, for
// `pulsar-admin topics peek-messages` and `get-message-by-id`.
//
// clang-format off
//   GET …/{topic}/subscription/{sub}/position/{n}   the n-th entry (from 1) the subscription has
//                                                   not acknowledged (a subscription that does
//                                                   not exist is created at the first message,
//                                                   as Pulsar does)
//   GET …/{topic}/ledger/{ledger}/entry/{entry}     the entry of that id
// clang-format on
//
// The answer's body is the entry's payload; its metadata goes in X-Pulsar-* fields (message id,
// publish time, producer, sequence id, properties as JSON, key, batch size), which pulsar-admin
// decodes. A compressed entry is sent decompressed (its metadata then says so), and a batch whole,
// with X-Pulsar-num-batch-message, for the CLI to split.

#include <optional>
#include <vector>

#include "http/http.h"
#include "wire/topic_name.h"

namespace shfn::broker {

class topic_registry;

// The answer when the request is one of the routes above; nullopt otherwise.
std::optional<http::http_response> message_routes(topic_registry& topics,
                                                  const http::http_request& r,
                                                  const std::vector<wire::topic_name>& parts);

}  // namespace shfn::broker
