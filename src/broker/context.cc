#include "broker/context.h"

#include <fmt/format.h>

#include <random>

namespace shfn::broker {

std::string encode_path_component(std::string_view name) {
  std::string out;
  for (char c : name) {
    // '.' is encoded too, so no name can collide with a ".partitions" file or be "..".
    const bool safe = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    if (safe) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string decode_path_component(std::string_view encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%' && i + 2 < encoded.size()) {
      out += static_cast<char>(std::stoi(std::string(encoded.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += encoded[i];
    }
  }
  return out;
}

std::string pulsar_url(const asio::ip::tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return "pulsar://" + host + ":" + std::to_string(endpoint.port());
}

std::string random_run_id() {
  return fmt::format("{:08x}", std::random_device{}());
}

namespace {
std::filesystem::path namespace_dir(const std::filesystem::path& data_dir,
                                    const wire::topic_name& t) {
  return data_dir / "topics" / (t.persistent ? "persistent" : "non-persistent") /
         encode_path_component(t.tenant) / encode_path_component(t.ns);
}
}  // namespace

std::filesystem::path topic_dir(const std::filesystem::path& data_dir, const wire::topic_name& t) {
  std::string local = t.local;
  if (t.partition >= 0) local += "-partition-" + std::to_string(t.partition);
  return namespace_dir(data_dir, t) / encode_path_component(local);
}

std::filesystem::path partitions_file(const std::filesystem::path& data_dir,
                                      const wire::topic_name& t) {
  return namespace_dir(data_dir, t) / (encode_path_component(t.local) + ".partitions");
}

}  // namespace shfn::broker
