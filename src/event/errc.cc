#include "event/errc.h"

namespace shfn::event {
namespace {

struct event_errors final : std::error_category {
  const char* name() const noexcept override { return "shfn-event"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_event:
        return "invalid CloudEvent";
      case errc::invalid_json:
        return "structured CloudEvent is not valid JSON";
      case errc::not_a_cloud_event:
        return "not a CloudEvent";
      case errc::unsupported_format:
        return "unsupported CloudEvents format";
      case errc::invalid_filter:
        return "invalid event filter";
    }
    return "unknown event error";
  }
};

}  // namespace

const std::error_category& event_category() {
  static const event_errors instance;
  return instance;
}

}  // namespace shfn::event
