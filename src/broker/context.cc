#include "broker/context.h"

#include <fmt/format.h>

#include <random>

namespace shfn::broker {

std::string pulsar_url(const asio::ip::tcp::endpoint& endpoint, bool tls) {
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return (tls ? "pulsar+ssl://" : "pulsar://") + host + ":" + std::to_string(endpoint.port());
}

std::string random_run_id() {
  return fmt::format("{:08x}", std::random_device{}());
}

}  // namespace shfn::broker
