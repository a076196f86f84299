#pragma once
// Internal: the shapes the flow kinds share (flow_shapes.cc), for the parsers of Parallel,
// Sequence (flow.cc) and the cron sources (cron_source.cc). Each reports its errors to the
// field's diagnostics and carries on.

#include <optional>
#include <string>

#include "config/flow.h"
#include "config/reader.h"

namespace shfn::config {

// What a STEP is used as: the words of its messages, and what it may be.
enum class role { filter, subscriber, step };

// SINK: `reply`, `sink`, `deadLetterSink`.
sink_spec read_sink(const field& f);
// DELIVERY: a branch's or a Sequence step's `delivery`.
delivery_spec read_delivery(const field& f);
// A STEP at `f`. `command_name` is $0 of an inline command: the flow's name and the step's role.
// With `with_delivery` (a Sequence step), `delivery` beside the step is read into *delivery.
std::optional<step_spec> read_step_field(const field& f, role r, const std::string& command_name,
                                         bool with_delivery, delivery_spec* delivery = nullptr);

}  // namespace shfn::config
