#include "function/admission.h"

namespace shfn::function {
namespace {

constexpr std::size_t ordered_queue_per_lane = 16;

}  // namespace

admission::sizes admission::for_spec(const config::function_spec& spec, bool ordered,
                                     bool answers_at_once) {
  const auto lanes = static_cast<std::size_t>(spec.parallelism);
  sizes s{.lanes = lanes};
  if (ordered) {
    s.run_slots = lanes * ordered_queue_per_lane;
  } else if (spec.mode == config::run_mode::stream || answers_at_once) {
    s.run_slots = lanes * stream_pipeline_depth;
  } else {
    s.run_slots = lanes;
  }
  s.max_in_flight = s.run_slots + 2 * std::size_t{config::batching_spec{}.max_messages};
  return s;
}

admission::admission(sizes s) : sizes_(s), lanes_(s.lanes) {}

void admission::release_run_slot(std::size_t count) {
  running_ -= count;
  changed_.notify_all();
}

asio::awaitable<void> admission::take_run_slot() {
  while (running_ >= sizes_.run_slots) co_await changed_.wait();
  ++running_;
}

void admission::done(bool holds_run_slot, std::size_t count) {
  if (holds_run_slot) running_ -= count;
  in_flight_ -= count;
  changed_.notify_all();
}

asio::awaitable<void> admission::wait_turn(std::size_t lane_index, std::uint64_t ticket) {
  auto& l = lanes_[lane_index];
  l.tickets.push_back(ticket);
  while (l.tickets.front() != ticket) co_await l.turn.wait();
}

void admission::leave_lane(std::size_t lane_index) {
  auto& l = lanes_[lane_index];
  l.tickets.pop_front();
  l.turn.notify_all();
}

}  // namespace shfn::function
