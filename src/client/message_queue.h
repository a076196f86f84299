#pragma once
// The consumer's receive queue: a ring of messages built in place. A partition consumer fills a
// slot straight from the frame, so queueing a message neither moves it nor allocates (a
// std::deque of messages this size allocates a node for every two). Grows by doubling, never
// shrinks. Single-threaded, like everything in the client.

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "client/message.h"

namespace shfn::client {

class message_queue {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  // A new, default-constructed message at the back, to be filled in by the caller.
  message& emplace_back() {
    if (size_ == slots_.size()) grow();
    auto& slot = slots_[index(size_)];
    ++size_;
    return slot.emplace();
  }

  message& front() { return *slots_[head_]; }

  void pop_front() {
    slots_[head_].reset();
    head_ = index(1);
    --size_;
  }

  // Removes the messages `pred` selects, keeping the others in order; returns how many went.
  template <class Pred>
  std::size_t erase_if(Pred pred) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < size_; ++i) {
      auto& slot = slots_[index(i)];
      if (pred(*slot)) continue;
      if (kept != i) slots_[index(kept)] = std::move(slot);
      ++kept;
    }
    for (std::size_t i = kept; i < size_; ++i) slots_[index(i)].reset();
    const std::size_t removed = size_ - kept;
    size_ = kept;
    return removed;
  }

 private:
  // Position of the i-th message from the front; the capacity is a power of two.
  std::size_t index(std::size_t i) const { return (head_ + i) & (slots_.size() - 1); }

  void grow() {
    std::vector<std::optional<message>> bigger(slots_.empty() ? 64 : slots_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move(slots_[index(i)]);
    slots_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<std::optional<message>> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace shfn::client
