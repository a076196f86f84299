#pragma once
// A set of uint64 offsets kept as disjoint, coalesced half-open ranges [first, last), so that a
// subscription's individually acknowledged messages cost one entry per run, not per message.
// Not thread-safe; owned by whoever owns the cursor.

#include <cstdint>
#include <iterator>
#include <map>

namespace shfn::storage {

class range_set {
 public:
  using ranges = std::map<std::uint64_t, std::uint64_t>;  // first -> last (exclusive)
  using const_iterator = ranges::const_iterator;

  void insert(std::uint64_t offset) {
    if (offset != UINT64_MAX) insert(offset, offset + 1);
  }

  // Adds [first, last), merging it with every range it overlaps or touches.
  void insert(std::uint64_t first, std::uint64_t last) {
    if (first >= last) return;
    auto it = ranges_.upper_bound(first);
    if (it != ranges_.begin()) {
      auto before = std::prev(it);
      if (before->second >= first) {  // overlaps or touches on the left
        first = before->first;
        last = std::max(last, before->second);
        it = ranges_.erase(before);
      }
    }
    while (it != ranges_.end() && it->first <= last) {
      last = std::max(last, it->second);
      it = ranges_.erase(it);
    }
    ranges_.emplace_hint(it, first, last);
  }

  bool contains(std::uint64_t offset) const {
    auto it = ranges_.upper_bound(offset);
    return it != ranges_.begin() && std::prev(it)->second > offset;
  }

  // Removes every offset < x.
  void erase_below(std::uint64_t x) {
    auto it = ranges_.begin();
    while (it != ranges_.end() && it->second <= x) it = ranges_.erase(it);
    if (it != ranges_.end() && it->first < x) {
      const std::uint64_t last = it->second;
      ranges_.erase(it);
      ranges_.emplace(x, last);
    }
  }

  // The smallest offset >= x that is not in the set.
  std::uint64_t first_gap_at_or_after(std::uint64_t x) const {
    auto it = ranges_.upper_bound(x);
    if (it == ranges_.begin()) return x;
    const auto& covering = *std::prev(it);
    return covering.second > x ? covering.second : x;
  }

  void clear() { ranges_.clear(); }
  bool empty() const { return ranges_.empty(); }
  // Number of offsets in the set (not of ranges).
  std::uint64_t size() const {
    std::uint64_t n = 0;
    for (const auto& [first, last] : ranges_) n += last - first;
    return n;
  }
  std::size_t range_count() const { return ranges_.size(); }

  const_iterator begin() const { return ranges_.begin(); }
  const_iterator end() const { return ranges_.end(); }

  friend bool operator==(const range_set&, const range_set&) = default;

 private:
  ranges ranges_;
};

}  // namespace shfn::storage
