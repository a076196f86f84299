#include "exec/worker_pool.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "base/backoff.h"
#include "base/notifier.h"
#include "exec/child.h"
#include "exec/errc.h"
#include "exec/line_buffering.h"
#include "exec/pipe_io.h"
#include "exec/stderr_lines.h"

namespace shfn::exec {
namespace detail {

// Requests handed to a worker together: one frame each, written as one, answered in order.
struct request {
  clock::time_point deadline;
  std::size_t count = 0;         // frames sent
  std::vector<outcome> answers;  // so far, in order; `done` once there are `count`
  oneshot<std::vector<outcome>> done;

  std::size_t unanswered() const { return count - answers.size(); }
};

enum class end_reason { crashed, timeout, response_too_large, unsolicited, stopping };

// One worker process and the requests queued on it; shared by the coroutines serving it.
struct worker {
  worker(std::unique_ptr<child> p, std::size_t slot_index, const worker_pool_options& o)
      : proc(std::move(p)),
        slot(slot_index),
        decoder(o.frames, o.lim.max_output),
        err(o.lim.max_stderr_line, o.lim.stderr_tail) {}

  // Takes the worker out of service: no more requests are written nor responses matched; the
  // supervisor then retires it. Its stderr is still read until it exits, for the tail.
  void end(end_reason r, std::string what = {}) {
    if (ended) return;
    ended = true;
    reason = r;
    why = std::move(what);
    proc->cancel_waits(true, true, false);
    wake.notify_all();
  }

  std::unique_ptr<child> proc;
  std::size_t slot;
  std::deque<std::shared_ptr<request>> in_flight;  // oldest first, written or still in `out`
  std::size_t outstanding = 0;                     // their frames not answered yet
  bytes out;                                       // frames not yet (fully) written
  std::size_t out_sent = 0;
  bool close_stdin = false;  // stop(): close stdin once `out` is written
  frame_decoder decoder;
  stderr_lines err;
  bool exited = false;
  exit_status status;
  bool ended = false;
  end_reason reason = end_reason::crashed;
  std::string why;  // for crashed: what we saw ("closed its stdout")
  // The last sign of life: its stdout had bytes, or it was given the last of its input.
  clock::time_point active_at = clock::now();
  int helpers = 0;
  notifier wake;  // anything above changed; every waiter re-checks its own condition
};

struct slot {
  explicit slot(const worker_pool_options& o) : delay(o.restart_initial, o.restart_max) {}

  std::shared_ptr<worker> live;     // takes requests
  std::shared_ptr<worker> current;  // live or being retired: what the destructor must kill
  notifier room;  // a request may fit now: a response came, a worker started, the pool stops
  backoff delay;
  std::string down;  // why no worker could be restarted, while none runs
};

struct pool_state {
  asio::any_io_executor ex;
  worker_pool_options opt;
  line_sink on_stderr;
  std::vector<std::unique_ptr<slot>> slots;
  bool started = false;
  bool stopping = false;
  std::uint64_t restarts = 0;
  int supervisors = 0;
  notifier stop_signal;  // wakes supervisors waiting out a back-off
  notifier idle;         // a supervisor finished
  std::string start_error;
  std::optional<std::string> libstdbuf;  // lines framing: preloaded for a line-buffered stdout
  bool told_sitting = false;             // on_notice said a worker sits on its input
};

}  // namespace detail

namespace {

using asio::awaitable;
using descriptor = child::descriptor;
using detail::end_reason;
using detail::pool_state;
using detail::request;
using detail::worker;

constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t compact_after = 1 << 20;

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

outcome failed(failure f, std::string message) {
  outcome o;
  o.what = f;
  o.message = std::move(message);
  return o;
}

spawn_spec worker_spec(const pool_state& st) {
  const auto& o = st.opt;
  if (!st.libstdbuf) return {o.cmd.argv, o.cmd.env, o.cmd.working_dir};
  return {o.cmd.argv, with_line_buffered_stdout(o.cmd.env, *st.libstdbuf), o.cmd.working_dir};
}

result<std::shared_ptr<worker>> spawn_worker(pool_state& st, std::size_t index, std::string& why) {
  const spawn_spec spec = worker_spec(st);
  auto started = spawn_child(spec);
  if (!started) {
    why = spawn_error_message(spec, started.error());
    return fail(started.error());
  }
  auto proc = std::make_unique<child>(st.ex, std::move(*started));
  return std::make_shared<worker>(std::move(proc), index, st.opt);
}

// Marks a helper coroutine finished, on every path out of it.
struct helper_scope {
  explicit helper_scope(worker& owner) : w(owner) {}
  helper_scope(const helper_scope&) = delete;
  helper_scope& operator=(const helper_scope&) = delete;
  ~helper_scope() {
    --w.helpers;
    w.wake.notify_all();
  }
  worker& w;
};

void forget_written(worker& w) {
  if (w.out_sent == w.out.size()) {
    w.out.clear();
    w.out_sent = 0;
  } else if (w.out_sent >= compact_after && w.out_sent * 2 >= w.out.size()) {
    w.out.erase(w.out.begin(), w.out.begin() + static_cast<std::ptrdiff_t>(w.out_sent));
    w.out_sent = 0;
  }
}

awaitable<void> write_requests(std::shared_ptr<worker> w) {
  helper_scope scope{*w};
  auto& pipe = w->proc->stdin_pipe();
  while (!w->ended && pipe.is_open()) {
    if (w->out_sent == w->out.size()) {
      if (w->close_stdin) break;
      co_await w->wake.wait();
      continue;
    }
    const auto r = write_some(pipe.native_handle(), byte_view(w->out).subspan(w->out_sent));
    if (r.status == io_status::transferred) {
      w->out_sent += r.count;
      forget_written(*w);
      if (w->out_sent == w->out.size()) w->active_at = clock::now();
      continue;
    }
    if (r.status == io_status::failed) {
      w->end(end_reason::crashed, "closed its stdin");
      break;
    }
    const bool ready = co_await wait_ready(&pipe, descriptor::wait_write);
    if (!ready) break;
  }
  if (w->close_stdin) {
    std::error_code ignored;
    pipe.close(ignored);
  }
}

// Matches the complete frames decoded so far with the oldest requests. Waiters are told once per
// read, not once per frame: a read usually answers many.
void deliver(pool_state& st, worker& w) {
  bool answered = false;
  while (!w.ended) {
    auto frame = w.decoder.next();
    if (!frame) {
      w.end(end_reason::response_too_large);
      break;
    }
    if (!*frame) break;
    if (w.in_flight.empty()) {
      w.end(end_reason::unsolicited);
      break;
    }
    auto& req = *w.in_flight.front();
    req.answers.emplace_back().output = std::move(**frame);
    --w.outstanding;
    answered = true;
    if (req.unanswered() == 0) {
      req.done.set(std::move(req.answers));
      w.in_flight.pop_front();  // the deadline watcher moves on to the next request
    }
  }
  if (!answered) return;
  auto& s = *st.slots[w.slot];
  s.delay.reset();
  s.room.notify_all();
  w.wake.notify_all();
}

awaitable<void> read_responses(std::shared_ptr<pool_state> st, std::shared_ptr<worker> w) {
  helper_scope scope{*w};
  auto& pipe = w->proc->stdout_pipe();
  bytes buffer(read_chunk);
  while (!w->ended && pipe.is_open()) {
    const auto r = read_some(pipe.native_handle(), buffer);
    if (r.status == io_status::transferred) {
      w->active_at = clock::now();
      w->decoder.feed(byte_view(buffer).first(r.count));
      deliver(*st, *w);
      continue;
    }
    if (r.status == io_status::eof) {
      w->end(end_reason::crashed, "closed its stdout");
      break;
    }
    if (r.status == io_status::failed) {
      w->end(end_reason::crashed,
             "could not be read: " + std::error_code(r.error, std::system_category()).message());
      break;
    }
    // Exited, and every response it wrote before has been delivered.
    if (w->exited) {
      w->end(end_reason::crashed);
      break;
    }
    const bool ready = co_await wait_ready(&pipe, descriptor::wait_read);
    if (!ready) break;
  }
}

awaitable<void> read_stderr(std::shared_ptr<pool_state> st, std::shared_ptr<worker> w) {
  helper_scope scope{*w};
  auto& pipe = w->proc->stderr_pipe();
  std::string buffer(read_chunk, '\0');
  while (pipe.is_open()) {
    const auto r = read_some(pipe.native_handle(),
                             {reinterpret_cast<std::uint8_t*>(buffer.data()), buffer.size()});
    if (r.status == io_status::transferred) {
      w->err.feed(std::string_view(buffer).substr(0, r.count), st->on_stderr);
      continue;
    }
    if (r.status != io_status::would_block || w->exited) break;
    const bool ready = co_await wait_ready(&pipe, descriptor::wait_read);
    if (!ready) break;
  }
  w->err.finish(st->on_stderr);
}

awaitable<void> watch_exit(std::shared_ptr<worker> w) {
  helper_scope scope{*w};
  w->status = co_await w->proc->wait_exit();
  w->exited = true;
  w->proc->cancel_waits(false, true, true);  // the readers drain what is left, then stop
}

// Whether the worker has had all of its input for a while and answered nothing since: what a
// program does whose stdout is a full buffer that only its input's end would flush.
bool sits_on_input(const pool_state& st, const worker& w) {
  return !w.in_flight.empty() && w.out_sent == w.out.size() &&
         clock::now() >= w.active_at + st.opt.sitting_after;
}

void tell_sitting(pool_state& st, const worker& w) {
  st.told_sitting = true;
  const std::string program = st.opt.cmd.argv.empty() ? "?" : st.opt.cmd.argv.front();
  const std::string notice =
      "stream worker " + std::to_string(w.slot) + " (" + program + ") has had all of its input " +
      "for " + millis(st.opt.sitting_after) + " and answered nothing: it is probably holding " +
      "its output in a buffer that only a full buffer or the end of its input would flush. " +
      "Make it flush each answer: `stdbuf -oL " + program + " ...`, `grep --line-buffered`, " +
      "`sed -u`, `python3 -u`, `mawk -W interactive` (docs/functions.md, stream mode)";
  spdlog::warn("exec: {}", notice);
  if (st.opt.on_notice) st.opt.on_notice(notice);
}

// Ends the worker when its oldest request passes its deadline (responses come in order, so the
// oldest request is always the first to expire), and says once per pool when a worker sits on
// input it was given whole.
awaitable<void> watch_requests(std::shared_ptr<pool_state> st, std::shared_ptr<worker> w) {
  helper_scope scope{*w};
  while (!w->ended) {
    if (w->in_flight.empty()) {
      co_await w->wake.wait();
      continue;
    }
    auto head = w->in_flight.front();
    const auto look_again =
        st->told_sitting ? clock::time_point::max() : w->active_at + st->opt.sitting_after;
    co_await w->wake.wait_until(std::min(head->deadline, look_again));
    const bool still_waiting = !w->in_flight.empty() && w->in_flight.front() == head;
    if (w->ended || !still_waiting) continue;
    if (clock::now() >= head->deadline) {
      w->end(end_reason::timeout);
    } else if (!st->told_sitting && sits_on_input(*st, *w)) {
      tell_sitting(*st, *w);
    }
  }
}

void launch(const std::shared_ptr<pool_state>& st, const std::shared_ptr<worker>& w) {
  w->helpers = 5;
  asio::co_spawn(st->ex, write_requests(w), asio::detached);
  asio::co_spawn(st->ex, read_responses(st, w), asio::detached);
  asio::co_spawn(st->ex, read_stderr(st, w), asio::detached);
  asio::co_spawn(st->ex, watch_exit(w), asio::detached);
  asio::co_spawn(st->ex, watch_requests(st, w), asio::detached);
}

std::string crash_message(const worker& w) {
  // An exit of its own explains more than the pipe that closed on the way.
  if (w.exited && w.status.known && !w.proc->signalled()) return "worker " + describe(w.status);
  if (!w.why.empty()) return "worker " + w.why;
  return "worker " + describe(w.status);
}

// The failure of a request left in flight when `w` went; `head`: the oldest one.
std::pair<failure, std::string> verdict(const pool_state& st, const worker& w, bool head) {
  switch (w.reason) {
    case end_reason::timeout:
      if (head) {
        return {failure::timeout,
                "no response within " + millis(st.opt.lim.timeout) + "; the worker was restarted"};
      }
      return {failure::worker_restarted,
              "the worker was restarted after an earlier request timed out"};
    case end_reason::response_too_large:
      if (head) {
        return {failure::output_too_large, "response larger than the limit of " +
                                               std::to_string(st.opt.lim.max_output) +
                                               " bytes; the worker was restarted"};
      }
      return {failure::worker_restarted,
              "the worker was restarted after an earlier response was too large"};
    case end_reason::unsolicited:
      return {failure::worker_crashed,
              "the worker wrote a response with no request outstanding; it was restarted"};
    case end_reason::stopping:
      return {failure::worker_restarted, "the worker pool stopped"};
    case end_reason::crashed:
      break;
  }
  if (st.stopping) return {failure::worker_restarted, "the worker pool stopped"};
  return {failure::worker_crashed, crash_message(w) + "; it was restarted"};
}

void fail_in_flight(const pool_state& st, worker& w) {
  const std::string tail = w.err.tail();
  bool head = true;
  for (auto& req : w.in_flight) {
    while (req->unanswered() > 0) {
      outcome& o = req->answers.emplace_back();
      std::tie(o.what, o.message) = verdict(st, w, head);
      o.exit_code = w.status.code;
      o.signal = w.status.signal;
      o.stderr_tail = tail;
      head = false;
    }
    req->done.set(std::move(req->answers));
  }
  w.in_flight.clear();
  w.outstanding = 0;
}

// Kills what is left of an ended worker, waits until it is reaped and its coroutines are done,
// then fails its outstanding requests.
awaitable<void> retire(std::shared_ptr<pool_state> st, std::shared_ptr<worker> w) {
  // A timed-out worker gets SIGTERM and kill_grace to go. A crashed one gets kill_grace to exit
  // by itself: a pipe that closed is usually the sign of an exit under way, and its exit status
  // is what the failure should report. Anything else is killed at once.
  const bool patient = w->reason == end_reason::timeout || w->reason == end_reason::crashed;
  if (w->reason == end_reason::timeout && !w->exited) w->proc->signal_group(SIGTERM);
  if (patient) {
    const auto until = clock::now() + st->opt.lim.kill_grace;
    while (!w->exited && clock::now() < until) co_await w->wake.wait_until(until);
  }
  if (!w->exited) w->proc->signal_group(SIGKILL);
  while (!w->exited) co_await w->wake.wait();
  w->proc->close_pipes();
  while (w->helpers > 0) co_await w->wake.wait();
  fail_in_flight(*st, *w);
}

// A new worker for slot `index` after the slot's back-off; null once the pool stops.
awaitable<std::shared_ptr<worker>> respawn(std::shared_ptr<pool_state> st, std::size_t index) {
  auto& s = *st->slots[index];
  while (!st->stopping) {
    const auto until = clock::now() + s.delay.next();
    while (!st->stopping && clock::now() < until) co_await st->stop_signal.wait_until(until);
    if (st->stopping) break;
    std::string why;
    auto w = spawn_worker(*st, index, why);
    if (w) {
      ++st->restarts;
      co_return std::move(*w);
    }
    spdlog::warn("exec: cannot restart worker {}: {}", index, why);
    s.down = std::move(why);
    s.room.notify_all();  // requests waiting for this worker fail rather than wait
  }
  co_return nullptr;
}

void put_in_service(const std::shared_ptr<pool_state>& st, detail::slot& s,
                    const std::shared_ptr<worker>& w) {
  launch(st, w);
  s.live = w;
  s.current = w;
  s.down.clear();
  s.room.notify_all();
}

// Runs slot `index`, whose worker `w` is in service: waits until it ends, retires it, restarts
// it, until the pool stops.
awaitable<void> supervise(std::shared_ptr<pool_state> st, std::size_t index,
                          std::shared_ptr<worker> w) {
  auto& s = *st->slots[index];
  while (w) {
    while (!w->ended) co_await w->wake.wait();
    s.live.reset();
    co_await retire(st, w);
    s.current.reset();
    w.reset();
    if (!st->stopping) w = co_await respawn(st, index);
    if (w) put_in_service(st, s, w);
  }
  --st->supervisors;
  st->idle.notify_all();
  s.room.notify_all();
}

std::string rejection(framing f, std::error_code ec) {
  if (ec == errc::payload_contains_delimiter) {
    return f == framing::lines ? "payload contains a newline, which the lines framing cannot carry"
                               : "payload contains a NUL byte, which the nul framing cannot carry";
  }
  return "payload cannot be framed: " + ec.message();
}

}  // namespace

worker_pool::worker_pool(asio::any_io_executor ex, worker_pool_options options, line_sink on_stderr)
    : state_(std::make_shared<pool_state>()) {
  state_->ex = std::move(ex);
  state_->opt = std::move(options);
  state_->on_stderr = std::move(on_stderr);
  if (state_->opt.frames == framing::lines) state_->libstdbuf = find_libstdbuf();
  for (int i = 0; i < state_->opt.workers; ++i) {
    state_->slots.push_back(std::make_unique<detail::slot>(state_->opt));
  }
}

worker_pool::~worker_pool() {
  auto& st = *state_;
  st.stopping = true;
  st.on_stderr = nullptr;  // the caller's callbacks may not outlive the pool
  st.opt.on_notice = nullptr;
  st.stop_signal.notify_all();
  for (auto& s : st.slots) {
    if (s->current) {
      s->current->proc->kill_and_reap();
      s->current->end(end_reason::stopping);
    }
    s->room.notify_all();
  }
}

asio::awaitable<result<void>> worker_pool::start() {
  auto st = state_;
  if (st->started || st->stopping || st->slots.empty() || st->opt.max_in_flight < 1) {
    co_return fail(errc::bad_options);
  }
  std::vector<std::shared_ptr<worker>> first;
  for (std::size_t i = 0; i < st->slots.size(); ++i) {
    auto w = spawn_worker(*st, i, st->start_error);
    if (!w) {
      spdlog::error("exec: cannot start worker {}: {}", i, st->start_error);
      co_return fail(w.error());  // the workers already spawned are killed and reaped here
    }
    first.push_back(std::move(*w));
  }
  st->started = true;
  for (std::size_t i = 0; i < first.size(); ++i) {
    put_in_service(st, *st->slots[i], first[i]);  // now: process() right after start() is served
    ++st->supervisors;
    asio::co_spawn(st->ex, supervise(st, i, first[i]), asio::detached);
  }
  co_return result<void>{};
}

asio::awaitable<outcome> worker_pool::process(bytes input, std::size_t index) {
  std::vector<byte_view> one{byte_view(input)};
  auto answers = co_await process_batch(std::move(one), index);
  co_return std::move(answers.front());
}

asio::awaitable<std::vector<outcome>> worker_pool::process_batch(std::vector<byte_view> inputs,
                                                                 std::size_t index) {
  auto st = state_;
  const std::size_t n = inputs.size();
  auto all_failed = [n](failure f, const std::string& why) {
    return std::vector<outcome>(n, failed(f, why));
  };
  if (!st->started) co_return all_failed(failure::spawn_failed, "the worker pool is not started");
  auto& s = *st->slots[index % st->slots.size()];
  const auto max_in_flight = static_cast<std::size_t>(st->opt.max_in_flight);
  std::shared_ptr<worker> w;
  while (true) {
    if (st->stopping) co_return all_failed(failure::worker_restarted, "the worker pool stopped");
    w = s.live;
    // A batch larger than the pipeline goes to an idle worker whole.
    const bool fits = w && (w->outstanding + n <= max_in_flight || w->outstanding == 0);
    if (w && !w->ended && fits) break;
    if (!w && !s.down.empty()) co_return all_failed(failure::spawn_failed, s.down);
    co_await s.room.wait();
  }
  // Frames go straight into the worker's output buffer; one the framing cannot carry is
  // answered here, and only it.
  std::vector<std::optional<outcome>> rejected;
  auto req = std::make_shared<request>();
  for (std::size_t i = 0; i < n; ++i) {
    if (auto encoded = encode_frame(st->opt.frames, inputs[i], w->out); !encoded) {
      rejected.resize(n);
      rejected[i] = failed(failure::input_rejected, rejection(st->opt.frames, encoded.error()));
      continue;
    }
    ++req->count;
  }
  if (req->count > 0) {
    const auto timeout = st->opt.lim.timeout;
    req->deadline = timeout.count() > 0 ? clock::now() + timeout : clock::time_point::max();
    req->answers.reserve(req->count);
    w->in_flight.push_back(req);
    w->outstanding += req->count;
    w->wake.notify_all();
  }
  w.reset();
  std::vector<outcome> answers;
  if (req->count > 0) answers = std::move(*co_await req->done.wait_until(clock::time_point::max()));
  if (rejected.empty()) co_return answers;
  // Rejected inputs take their places among the answers.
  std::vector<outcome> merged;
  merged.reserve(n);
  std::size_t next = 0;
  for (auto& r : rejected) merged.push_back(r ? std::move(*r) : std::move(answers[next++]));
  co_return merged;
}

asio::awaitable<void> worker_pool::stop() {
  auto st = state_;
  if (!st->stopping) {
    st->stopping = true;
    st->stop_signal.notify_all();
    std::vector<std::shared_ptr<worker>> live;
    for (auto& s : st->slots) {
      s->room.notify_all();
      if (!s->live) continue;
      live.push_back(s->live);
      s->live->close_stdin = true;
      s->live->wake.notify_all();
    }
    const auto until = clock::now() + st->opt.lim.kill_grace;
    for (auto& w : live) {
      while (!w->ended && clock::now() < until) co_await w->wake.wait_until(until);
    }
    for (auto& w : live) w->end(end_reason::stopping);
  }
  while (st->supervisors > 0) co_await st->idle.wait();
}

int worker_pool::workers() const {
  return state_->opt.workers;
}

std::uint64_t worker_pool::restarts() const {
  return state_->restarts;
}

const std::string& worker_pool::start_error() const {
  return state_->start_error;
}

}  // namespace shfn::exec
