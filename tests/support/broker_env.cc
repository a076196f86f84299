#include "support/broker_env.h"

#include <fmt/format.h>

#include <asio/ip/tcp.hpp>
#include <chrono>
#include <random>

namespace shfn::testing {

int admin_request(const std::string& method, const std::string& path, const std::string& body) {
  std::string http = env("PULSAR_HTTP");  // http://host:port
  if (!http.starts_with("http://")) return 0;
  std::string hostport = http.substr(7);
  auto colon = hostport.rfind(':');
  asio::ip::tcp::iostream s(hostport.substr(0, colon), hostport.substr(colon + 1));
  if (!s) return 0;
  s << method << " " << path << " HTTP/1.0\r\nHost: " << hostport
    << "\r\nContent-Type: application/json\r\nContent-Length: " << body.size() << "\r\n";
  if (auto token = env("PULSAR_TOKEN"); !token.empty())
    s << "Authorization: Bearer " << token << "\r\n";
  s << "\r\n" << body << std::flush;
  std::string version;
  int status = 0;
  s >> version >> status;
  return status;
}

std::string unique_topic(const std::string& stem) {
  static std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{}-{:x}", stem, rng());
}

}  // namespace shfn::testing
