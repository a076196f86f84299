#include "storage/layout.h"

#include <fmt/format.h>

#include <cctype>

namespace shfn::storage {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // encode_path_component writes upper case only
}

}  // namespace

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

std::optional<std::string> decode_path_component(std::string_view encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      out += encoded[i];
      continue;
    }
    if (i + 2 >= encoded.size()) return std::nullopt;
    const int high = hex_value(encoded[i + 1]);
    const int low = hex_value(encoded[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

std::filesystem::path namespace_dir(const std::filesystem::path& data_dir, bool persistent,
                                    std::string_view tenant, std::string_view ns) {
  return data_dir / "topics" / (persistent ? "persistent" : "non-persistent") /
         encode_path_component(tenant) / encode_path_component(ns);
}

std::filesystem::path topic_dir(const std::filesystem::path& data_dir, const wire::topic_name& t) {
  std::string local = t.local;
  if (t.partition >= 0) local += "-partition-" + std::to_string(t.partition);
  return namespace_dir(data_dir, t.persistent, t.tenant, t.ns) / encode_path_component(local);
}

std::filesystem::path partitions_file(const std::filesystem::path& data_dir,
                                      const wire::topic_name& t) {
  return namespace_dir(data_dir, t.persistent, t.tenant, t.ns) /
         (encode_path_component(t.local) + std::string(partitions_suffix));
}

std::filesystem::path schema_file(const std::filesystem::path& data_dir,
                                  const wire::topic_name& t) {
  return data_dir / "schemas" / encode_path_component(t.tenant) / encode_path_component(t.ns) /
         (encode_path_component(t.local) + ".json");
}

std::filesystem::path terminated_file(const std::filesystem::path& topic_dir) {
  return topic_dir / "TERMINATED";
}

std::filesystem::path compacted_file(const std::filesystem::path& topic_dir) {
  return topic_dir / "COMPACTED";
}

std::filesystem::path compacted_dir(const std::filesystem::path& topic_dir,
                                    std::uint64_t generation) {
  return topic_dir / (std::string(compacted_dir_prefix) + std::to_string(generation));
}

std::filesystem::path cursor_path(const std::filesystem::path& topic_dir,
                                  std::string_view subscription, bool reader) {
  return topic_dir / (reader ? "readers" : "cursors") /
         (encode_path_component(subscription) + std::string(cursor_suffix));
}

}  // namespace shfn::storage
