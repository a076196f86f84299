#include "client/errc.h"

#include <string>

namespace shfn::client {
namespace {

struct client_errors final : std::error_category {
  const char* name() const noexcept override { return "pulsar-client"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_url:
        return "invalid service URL";
      case errc::connect_failed:
        return "could not connect to the broker";
      case errc::connection_closed:
        return "connection to the broker closed";
      case errc::timeout:
        return "operation timed out";
      case errc::handshake_failed:
        return "broker refused the connection handshake";
      case errc::tls_failed:
        return "TLS handshake failed";
      case errc::lookup_failed:
        return "topic lookup failed";
      case errc::too_many_redirects:
        return "topic lookup redirected too many times";
      case errc::unexpected_response:
        return "unexpected response from the broker";
      case errc::closed:
        return "producer or consumer is closed";
      case errc::interrupted:
        return "receive interrupted";
      case errc::message_too_big:
        return "message is larger than the broker's maximum";
      case errc::producer_fenced:
        return "producer was fenced by the broker";
    }
    return "unknown client error";
  }
};

}  // namespace

const std::error_category& client_category() {
  static const client_errors instance;
  return instance;
}

bool is_quota_refusal(std::error_code ec) {
  using wire::pb::ServerError;
  return ec == server_error(ServerError::ProducerBlockedQuotaExceededException) ||
         ec == server_error(ServerError::ProducerBlockedQuotaExceededError);
}

bool is_retriable(std::error_code ec) {
  if (ec.category() == client_category()) {
    switch (static_cast<errc>(ec.value())) {
      case errc::connect_failed:
      case errc::connection_closed:
      case errc::timeout:
      case errc::lookup_failed:
      case errc::unexpected_response:
        return true;
      default:
        return false;
    }
  }
  if (ec.category() == server_category()) {
    using wire::pb::ServerError;
    switch (static_cast<ServerError>(ec.value())) {
      case ServerError::ServiceNotReady:
      case ServerError::MetadataError:
      case ServerError::PersistenceError:
      case ServerError::TooManyRequests:
      case ServerError::ProducerBusy:
      case ServerError::ConsumerBusy:
      case ServerError::UnknownError:
        return true;
      default:
        return false;
    }
  }
  return false;
}

}  // namespace shfn::client
