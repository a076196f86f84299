#pragma once
// pulsar://host:port[,host:port...] and pulsar+ssl://... as the client accepts them.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace shfn::client {

struct broker_address {
  std::string host;
  std::string port;
  bool tls = false;

  std::string str() const {
    return std::string(tls ? "pulsar+ssl://" : "pulsar://") + host + ":" + port;
  }
  bool operator==(const broker_address&) const = default;
};

// Parses a service URL; several hosts may be listed, separated by commas.
result<std::vector<broker_address>> parse_service_url(std::string_view url);

}  // namespace shfn::client
