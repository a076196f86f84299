#pragma once
// Messages as the application sees them, on the way out and on the way in.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "wire/message_id.h"

namespace shfn::client {

using property_list = std::vector<std::pair<std::string, std::string>>;

struct outgoing_message {
  bytes payload;
  std::optional<std::string> key;
  property_list properties;
  std::uint64_t event_time = 0;              // 0: not set
  std::optional<std::uint64_t> sequence_id;  // explicit, for deduplication
};

struct message {
  wire::message_id id;
  std::string topic;  // the partition's full name
  bytes payload;
  std::optional<std::string> key;
  property_list properties;
  std::string producer_name;
  std::uint64_t sequence_id = 0;
  std::uint64_t publish_time = 0;  // ms since the epoch
  std::uint64_t event_time = 0;
  std::uint32_t redelivery_count = 0;
};

}  // namespace shfn::client
