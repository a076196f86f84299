#pragma once
// How many messages a function instance takes at once, and in what order ordered ones run.
//
// Two windows: run slots bound the scripts running (or waiting in a lane) at once; the larger
// in-flight window also counts messages whose output waits for its receipt, so that an fsync on
// the broker does not idle the scripts. Ordered functions (retainOrdering, retainKeyOrdering,
// EFFECTIVELY_ONCE) run the messages of one lane one after the other, in the order they were
// taken; the instance decides which lane a message is in.
//
// Threads: the instance's executor only; waiters suspend on `changed()`, which the instance also
// notifies when it stops, so that they look again.

#include <asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "base/notifier.h"
#include "config/spec.h"

namespace shfn::function {

class admission {
 public:
  // Requests in flight per stream-mode worker (unordered).
  static constexpr std::size_t stream_pipeline_depth = 64;
  // At most this many messages go to a stream worker as one batch: a worker's pipeline holds
  // two, so the next is written while the worker answers one.
  static constexpr std::size_t stream_batch_max = stream_pipeline_depth / 2;

  struct sizes {
    std::size_t lanes = 1;  // the function's parallelism
    std::size_t run_slots = 1;
    std::size_t max_in_flight = 1;
  };
  // Exec mode: one run slot per process; stream mode, and a flow step that answers at once
  // (stage.h): a pipeline per worker; ordered: a short queue per lane. The in-flight window adds
  // two output batches of the default size, so that the next fills while one waits for its
  // receipt.
  static sizes for_spec(const config::function_spec& spec, bool ordered,
                        bool answers_at_once = false);

  explicit admission(sizes s);

  // Whether another message may be taken now: a run slot and an in-flight place are free.
  bool has_room() const { return running_ < sizes_.run_slots && in_flight_ < sizes_.max_in_flight; }
  // A message was taken: it holds a run slot and an in-flight place.
  void admit() {
    ++in_flight_;
    ++running_;
  }
  // Gives the run slot back while the message waits for its receipt or a retry (`count`: of that
  // many messages, run as a batch).
  void release_run_slot(std::size_t count = 1);
  // Takes a run slot again (for a retry in place), waiting for one to free.
  asio::awaitable<void> take_run_slot();
  // The message is done with: its in-flight place (and run slot, if it still holds one) free.
  // `count`: that many messages, done together.
  void done(bool holds_run_slot, std::size_t count = 1);
  // An ordered message's place in its lane, drawn as it starts: messages start in the order
  // they were taken.
  std::uint64_t next_ticket() { return next_ticket_++; }
  // Waits until `ticket` is first in `lane`; leave_lane() lets the next one go.
  asio::awaitable<void> wait_turn(std::size_t lane, std::uint64_t ticket);
  void leave_lane(std::size_t lane);

  std::size_t lanes() const { return lanes_.size(); }
  std::size_t running() const { return running_; }
  std::size_t in_flight() const { return in_flight_; }
  std::size_t max_in_flight() const { return sizes_.max_in_flight; }
  bool window_full() const { return in_flight_ >= sizes_.max_in_flight; }
  notifier& changed() { return changed_; }

 private:
  struct lane {
    std::deque<std::uint64_t> tickets;
    notifier turn;
  };

  sizes sizes_;
  std::vector<lane> lanes_;
  std::uint64_t next_ticket_ = 0;
  std::size_t running_ = 0;
  std::size_t in_flight_ = 0;
  notifier changed_;
};

}  // namespace shfn::function
