#include "client/batch_tracker.h"

#include <algorithm>

namespace shfn::client {

batch_tracker::arrival batch_tracker::arrived(entry_key key, int count,
                                              const std::function<bool(int)>& acked_on_arrival) {
  arrival out;
  entry_state& entry = batches_[key];
  if (entry.messages.size() != static_cast<std::size_t>(count)) {
    entry = {std::vector<message_state>(static_cast<std::size_t>(count)), 0};
  }
  for (int i = 0; i < count; ++i) {
    message_state& state = entry.messages[static_cast<std::size_t>(i)];
    if (acked_on_arrival(i)) state = message_state::acked;
    if (state != message_state::available) {
      ++out.skipped;
      continue;
    }
    state = message_state::outstanding;
    out.deliver.push_back(i);
  }
  entry.left = static_cast<std::size_t>(std::ranges::count_if(
      entry.messages, [](message_state s) { return s != message_state::acked; }));
  if (entry.left == 0) {
    // All acked already (the last ack was lost with a connection): ack the entry now.
    batches_.erase(key);
    out.ack_entry = true;
  }
  return out;
}

bool batch_tracker::acknowledge(entry_key key, int index) {
  auto it = batches_.find(key);
  if (it == batches_.end()) return false;  // the whole entry is acked already
  entry_state& entry = it->second;
  const auto i = static_cast<std::size_t>(index);
  if (index < 0 || i >= entry.messages.size() || entry.messages[i] == message_state::acked) {
    return false;
  }
  entry.messages[i] = message_state::acked;
  if (--entry.left > 0) return false;
  batches_.erase(it);
  return true;
}

void batch_tracker::make_available(entry_key key, int index) {
  auto it = batches_.find(key);
  if (it == batches_.end()) return;
  const auto i = static_cast<std::size_t>(index);
  if (index >= 0 && i < it->second.messages.size() &&
      it->second.messages[i] != message_state::acked) {
    it->second.messages[i] = message_state::available;
  }
}

void batch_tracker::forget_through(entry_key last) {
  std::erase_if(batches_, [&](const auto& kv) { return kv.first <= last; });
}

int permit_window::consumed(int count) {
  consumed_since_flow_ += count;
  const bool unblocks_broker = last_entry_messages_ >= half_ && broker_permits_ <= 0 &&
                               broker_permits_ + consumed_since_flow_ > 0;
  if (consumed_since_flow_ < half_ && !unblocks_broker) return 0;
  return std::exchange(consumed_since_flow_, 0);
}

}  // namespace shfn::client
