#pragma once
// The steps a flow stage runs for each message when it is not a process (docs/flows.md,
// "Steps"): a built-in attribute filter, a `uri` subscriber, or the `display` built-in. What a
// step is and how a function_instance calls it: src/function/stage.h.
//
// Threads: run() is called on the runtime's executor, one call per message, several at once.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "event/filter.h"
#include "function/stage.h"

namespace shfn::flow {

using function::step;

// Knative Trigger attribute filters (event/filter.h): a matching event goes on unchanged, any
// other is dropped. Never fails.
std::unique_ptr<step> attribute_filter_step(event::filter f);

// HTTP POST of the event in CloudEvents binary mode. 2xx with a body: that is the reply event
// (an event in binary or structured mode; a body without ce- headers is the input's event with
// that body as its data and the response's Content-Type). 2xx with an empty body: no reply.
// 408, 429, 5xx and network errors or timeouts fail and are retried by the delivery policy;
// any other status fails for good (`permanent`: to the dead letter at once, as Knative does).
// `timeout` bounds each attempt. An https uri's server must present a certificate that chains to
// `ca_certs` (PEM; empty: the system's CAs) and names its host; one that does not fails for good
// (OpenSSL's reason, "certificate verify failed", in the log and the stage's lastError).
std::unique_ptr<step> uri_step(std::string uri, std::chrono::milliseconds timeout,
                               std::string_view ca_certs = {});

// Prints each event as Knative's event-display does (event/display.h) through `print`, which
// writes one whole block; no reply.
using display_printer = std::function<void(const std::string& block)>;
std::unique_ptr<step> display_step(display_printer print);

}  // namespace shfn::flow
