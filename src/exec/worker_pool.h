#pragma once
// Stream mode: long-lived worker processes, each fed requests through a framing (framing.h) on
// its stdin and answering on its stdout, one response per request, in order.
//
// Per worker, requests are pipelined (up to max_in_flight outstanding) and responses matched
// first in, first out. A batch (process_batch) is written as one and completed as one, each of
// its requests answered or failed as if it had come alone. Failures:
//  - no response within limits.timeout (counted from when process() hands the request to the
//    worker): that request fails with `timeout`, the worker is stopped (SIGTERM to its group,
//    SIGKILL kill_grace later) and restarted, its other requests fail with `worker_restarted`;
//  - a response over limits.max_output: that request fails with `output_too_large` (detected
//    from the length prefix, or once max_output bytes came without a delimiter), the worker's
//    group is SIGKILLed and the worker restarted, its other requests fail with `worker_restarted`;
//  - the worker exits, closes its stdout or its stdin: its requests fail with `worker_crashed`
//    (exit code or signal, and stderr tail, in the outcome) and it is restarted (one that closed
//    a pipe but does not exit is SIGKILLed kill_grace later);
//  - a payload the framing cannot carry fails with `input_rejected`, and only that request.
// Restarts wait an exponential back-off (restart_initial doubling up to restart_max, with
// jitter), reset by each successful response. Whenever a worker goes, its process group is
// SIGKILLed and it is reaped, as in exec mode.
//
// Workers of the `lines` framing get a line-buffered stdout where the system allows it
// (line_buffering.h), so C filters such as rev answer each line at once.
//
// Ownership and threading: the pool and all its coroutines run on the executor given to the
// constructor (a single-threaded io_context); call process() and stop() there; on_stderr is
// called there. Each worker's state is shared by the coroutines serving it, so destroying the
// pool while they are suspended is safe: the destructor SIGKILLs and reaps every worker at once
// (never a zombie) and the coroutines unwind when next resumed. Prefer co_await stop() first.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "exec/command.h"
#include "exec/framing.h"

namespace shfn::exec {

namespace detail {
struct pool_state;
}

struct worker_pool_options {
  command cmd;
  int workers = 1;
  framing frames = framing::lines;
  limits lim;
  int max_in_flight = 64;  // pipelined requests per worker
  std::chrono::milliseconds restart_initial{100}, restart_max{10000};
  // What the pool has to say about its workers, once per pool: a worker that has had all of its
  // input for `sitting_after` and answered nothing is holding its output in a buffer
  // (line_buffering.h says why); the line names the fix. Logged at WARN too.
  line_sink on_notice;
  std::chrono::milliseconds sitting_after{1000};
};

class worker_pool {
 public:
  worker_pool(asio::any_io_executor ex, worker_pool_options options, line_sink on_stderr);
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  ~worker_pool();

  // Spawns all workers. Fails (spawning none) if one cannot be spawned: the error is the errno
  // or exec::errc, start_error() says which path and why. errc::bad_options when workers or
  // max_in_flight is below 1, or when already started or stopped.
  asio::awaitable<result<void>> start();

  // Sends one request to worker `index % workers` and waits for its response or its failure;
  // waits for room first when that worker already has max_in_flight outstanding. Requests to a
  // worker that cannot be restarted fail with spawn_failed; after stop(), with worker_restarted.
  asio::awaitable<outcome> process(bytes input, std::size_t index);

  // Sends the requests of `inputs` to worker `index % workers` as one write and waits for every
  // response or failure: one outcome per input, in order. Each request keeps its own semantics
  // (its timeout runs from the hand-over, one the framing cannot carry fails alone, ...).
  // Waits until the worker has room for the whole batch (or is idle, for a batch larger than
  // max_in_flight). The caller keeps the bytes the views point into alive until it returns.
  asio::awaitable<std::vector<outcome>> process_batch(std::vector<byte_view> inputs,
                                                      std::size_t index);

  // Two phases: closes every worker's stdin once its queued requests are written and waits up to
  // kill_grace for the workers to answer and exit; then kills the groups of those still running.
  // Requests still outstanding then fail with worker_restarted.
  asio::awaitable<void> stop();

  int workers() const;
  std::uint64_t restarts() const;  // workers restarted so far, for metrics
  // Why start() failed, e.g. "cannot run '/opt/x': No such file or directory"; empty otherwise.
  const std::string& start_error() const;

 private:
  std::shared_ptr<detail::pool_state> state_;
};

}  // namespace shfn::exec
