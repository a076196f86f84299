#include "function/delivery.h"

#include <algorithm>

namespace shfn::function {

delivery_policy delivery_policy::for_spec(const config::function_spec& spec) {
  using config::subscription_kind;
  const bool ordered_subscription = spec.subscription == subscription_kind::exclusive ||
                                    spec.subscription == subscription_kind::failover;
  return {
      .guarantee = spec.guarantees,
      .ordered = spec.retain_ordering || spec.retain_key_ordering ||
                 spec.guarantees == config::guarantee::effectively_once || ordered_subscription,
      .max_retries = spec.max_message_retries,
  };
}

next_step delivery_policy::after_failure(int failed, bool alone) const {
  if (guarantee == config::guarantee::at_most_once || failed > max_retries) {
    return next_step::dead_letter;
  }
  return ordered || !alone ? next_step::retry_in_place : next_step::negative_ack;
}

bool delivery_policy::redelivered_alone(const wire::message_id& id, std::string_view topic) {
  return id.batch_size <= 1 && !topic.starts_with("non-persistent://");
}

std::chrono::milliseconds delivery_policy::delay(int failed) const {
  auto d = initial_delay;
  for (int i = 1; i < failed && d < max_delay; ++i) d = linear ? d + initial_delay : d * 2;
  return std::min(d, max_delay);
}

std::uint64_t sequence_id_for(const wire::message_id& id) {
  const auto ledger = static_cast<std::uint64_t>(std::max<std::int64_t>(id.ledger, 0));
  const auto entry = static_cast<std::uint64_t>(std::max<std::int64_t>(id.entry, 0));
  const auto batch = static_cast<std::uint64_t>(std::max<std::int32_t>(id.batch_index, 0));
  return (ledger << 40) + (entry << 12) + (batch & 0xfff);
}

}  // namespace shfn::function
