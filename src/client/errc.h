#pragma once
// Client errors, plus the broker's own ServerError codes as a std::error_code category, so a
// refusal from the broker reaches the caller with the broker's reason intact.

#include <system_error>

#include "pulsar_api.pb.h"
#include "wire/errc.h"

namespace shfn::client {

enum class errc {
  invalid_url = 1,
  connect_failed,
  connection_closed,
  timeout,
  handshake_failed,
  tls_failed,
  lookup_failed,
  too_many_redirects,
  unexpected_response,
  closed,
  message_too_big,
  producer_fenced,
  interrupted,
};

const std::error_category& client_category();

inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), client_category()};
}
using wire::server_category;
using wire::server_error;

// Errors worth retrying after a reconnect (as opposed to a refusal that will not change).
bool is_retriable(std::error_code ec);
// ProducerBlockedQuotaExceeded (error or exception): the broker will not take sends for now
// (Pulsar: a backlog quota; the embedded broker: a full disk). Pending sends fail at once.
bool is_quota_refusal(std::error_code ec);

}  // namespace shfn::client

template <>
struct std::is_error_code_enum<shfn::client::errc> : std::true_type {};
