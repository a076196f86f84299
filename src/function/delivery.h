#pragma once
// Delivery decisions of a function instance, kept free of I/O so they can be tested alone.
//
// A failed attempt is retried until the message has failed maxMessageRetries + 1 times, then it
// goes to the dead-letter topic. How it is retried depends on ordering:
//   - unordered (Shared, Key_Shared without retainKeyOrdering): negative ack with a delay that
//     grows with the broker's redelivery count, so other messages go on meanwhile;
//   - ordered (retainOrdering, retainKeyOrdering, EFFECTIVELY_ONCE, Exclusive or Failover): in
//     place, after the same delay, because a redelivered message would come after later ones
//     (and, for EFFECTIVELY_ONCE, its output's sequence id would then be dropped as a duplicate).
//     Pulsar also keeps no redelivery count for Exclusive and Failover subscriptions.
// An unordered message is retried in place too when a negative ack would not bring it back
// alone (`redelivered_alone`):
//   - it came in a batch entry of several: the broker redelivers whole entries (Pulsar keeps no
//     batch-index acknowledgements by default), perhaps to another consumer of the subscription
//     (another instance, or another pod), which would run the entry's acknowledged messages again;
//   - it came from a non-persistent topic: the broker keeps nothing to redeliver.
// ATMOST_ONCE acks before running the script, so there is nothing to retry: a failure goes
// straight to the dead-letter topic.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "config/spec.h"
#include "wire/message_id.h"

namespace shfn::function {

enum class next_step { retry_in_place, negative_ack, dead_letter };

struct delivery_policy {
  config::guarantee guarantee = config::guarantee::at_least_once;
  bool ordered = false;
  int max_retries = 3;
  bool linear = false;  // Knative's backoffPolicy linear: initial * n instead of doubling
  std::chrono::milliseconds initial_delay{100};
  std::chrono::milliseconds max_delay{30000};

  static delivery_policy for_spec(const config::function_spec& spec);

  // After the `failed`-th failed attempt (1 for the first); `alone`: redelivered_alone().
  next_step after_failure(int failed, bool alone = true) const;
  // Whether a negative ack of the message `id` of `topic` brings back that message alone.
  static bool redelivered_alone(const wire::message_id& id, std::string_view topic);
  // How long to wait before attempt `failed` + 1: initial, doubling (or growing by initial when
  // linear), capped.
  std::chrono::milliseconds delay(int failed) const;
};

// EFFECTIVELY_ONCE: the sequence id of the output caused by input `id`, increasing with the
// input's position in its partition, so the broker drops an output published again after a
// crash. Layout: ledger (24 bits) | entry (28 bits) | batch index (12 bits). The embedded
// broker's ledger is always 0, so its entries may use all 52 upper bits.
std::uint64_t sequence_id_for(const wire::message_id& id);

}  // namespace shfn::function
