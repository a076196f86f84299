#include "client/service_url.h"

#include <charconv>

#include "client/errc.h"

namespace shfn::client {

result<std::vector<broker_address>> parse_service_url(std::string_view url) {
  bool tls = false;
  std::string_view rest;
  if (url.starts_with("pulsar://")) {
    rest = url.substr(9);
  } else if (url.starts_with("pulsar+ssl://")) {
    rest = url.substr(13);
    tls = true;
  } else {
    return fail(errc::invalid_url);
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::vector<broker_address> out;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view hostport = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    broker_address a{.tls = tls};
    auto colon = hostport.rfind(':');
    if (colon == std::string_view::npos) {
      a.host = hostport;
      a.port = tls ? "6651" : "6650";
    } else {
      a.host = hostport.substr(0, colon);
      a.port = hostport.substr(colon + 1);
      int port = 0;
      auto [end, ec] = std::from_chars(a.port.data(), a.port.data() + a.port.size(), port);
      if (ec != std::errc() || end != a.port.data() + a.port.size() || port <= 0 || port > 65535) {
        return fail(errc::invalid_url);
      }
    }
    if (a.host.starts_with('[') && a.host.ends_with(']'))
      a.host = a.host.substr(1, a.host.size() - 2);
    if (a.host.empty()) return fail(errc::invalid_url);
    out.push_back(std::move(a));
  }
  if (out.empty()) return fail(errc::invalid_url);
  return out;
}

}  // namespace shfn::client
