#include "http/errc.h"

#include <string>

namespace shfn::http {
namespace {

class client_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "http-client"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_url:
        return "invalid HTTP URL (expected http[s]://host[:port][/path][?query])";
      case errc::invalid_request_header:
        return "invalid request header (bad name or value, or one the client sets itself: "
               "Host, Content-Length, Transfer-Encoding, Connection)";
      case errc::timeout_connecting:
        return "timed out connecting to the HTTP server";
      case errc::timeout_sending:
        return "timed out sending the HTTP request";
      case errc::timeout_receiving:
        return "timed out waiting for the HTTP response";
      case errc::connection_closed:
        return "the HTTP server closed the connection before the response was complete";
      case errc::malformed_response:
        return "malformed HTTP response";
      case errc::response_head_too_large:
        return "HTTP response head too large";
      case errc::response_body_too_large:
        return "HTTP response body too large";
      case errc::unsupported_transfer_coding:
        return "unsupported Transfer-Encoding in the HTTP response (only chunked is understood)";
    }
    return "unknown HTTP client error";
  }
};

}  // namespace

const std::error_category& client_category() {
  static const client_category_impl category;
  return category;
}

status_class classify(int status) {
  if (status >= 200 && status <= 299) return status_class::success;
  if (status == 408 || status == 429 || (status >= 500 && status <= 599)) {
    return status_class::retryable;
  }
  return status_class::permanent;
}

}  // namespace shfn::http
