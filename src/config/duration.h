#pragma once
// ISO-8601 durations as Knative's DeliverySpec writes them (`backoffDelay: PT0.2S`), in the
// subset whose units have fixed lengths: weeks (`P2W`, alone), days, hours, minutes and seconds
// with a fraction (`P1DT2H30M`, `PT0.5S`). Years and months are refused: their length depends on
// the calendar date they start from, and a delay has no start date.
//
// Pure; any thread.

#include <chrono>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace shfn::config {

// The duration, or a complete message: `invalid ISO-8601 duration "5s": expected e.g. PT5S or
// PT0.5S`. Milliseconds are the finest unit (a finer fraction is an error, not rounded away).
tl::expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text);

}  // namespace shfn::config
