#include "broker/producer_access.h"

#include <algorithm>

#include "wire/errc.h"

namespace shfn::broker {

namespace pb = wire::pb;

bool producer_access::stale(const request& r) const {
  return r.topic_epoch && epoch_ && *r.topic_epoch < *epoch_;
}

// Makes `r` the exclusive holder: a reconnecting holder keeps its epoch, a new one raises it.
std::uint64_t producer_access::hold(const request& r) {
  exclusive_ = r.name;
  const bool returning = r.topic_epoch && epoch_ && *r.topic_epoch == *epoch_;
  if (!returning) epoch_ = epoch_ ? *epoch_ + 1 : 0;
  return *epoch_;
}

result<producer_access::admission> producer_access::admit(const request& r) {
  const bool taken = exclusive_.has_value() || !waiting_.empty();
  switch (r.access) {
    case pb::Shared:
      if (taken) return fail(wire::server_error(pb::ProducerBusy));
      shared_.insert(r.name);
      return admission{};
    case pb::Exclusive:
      if (taken || !shared_.empty() || stale(r)) {
        return fail(wire::server_error(pb::ProducerFenced));
      }
      return admission{.topic_epoch = hold(r)};
    case pb::ExclusiveWithFencing: {
      if (stale(r)) return fail(wire::server_error(pb::ProducerFenced));
      admission a;
      a.fenced.assign(shared_.begin(), shared_.end());
      if (exclusive_) a.fenced.push_back(*exclusive_);
      a.fenced.insert(a.fenced.end(), waiting_.begin(), waiting_.end());
      shared_.clear();
      waiting_.clear();
      a.topic_epoch = hold(r);
      return a;
    }
    case pb::WaitForExclusive:
      if (stale(r)) return fail(wire::server_error(pb::ProducerFenced));
      if (taken || !shared_.empty()) {
        waiting_.push_back(r.name);
        return admission{.ready = false};
      }
      return admission{.topic_epoch = hold(r)};
  }
  return fail(wire::server_error(pb::NotAllowedError));
}

std::optional<producer_access::promotion> producer_access::release(const std::string& name) {
  shared_.erase(name);
  std::erase(waiting_, name);
  if (exclusive_ == name) exclusive_.reset();
  if (exclusive_ || !shared_.empty() || waiting_.empty()) return std::nullopt;
  const request next{.name = waiting_.front()};
  waiting_.pop_front();
  return promotion{.name = next.name, .topic_epoch = hold(next)};
}

}  // namespace shfn::broker
