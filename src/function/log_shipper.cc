#include "function/log_shipper.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "base/clock.h"
#include "base/retry.h"

namespace shfn::function {

using asio::awaitable;

std::string_view to_string(log_level level) {
  switch (level) {
    case log_level::debug:
      return "DEBUG";
    case log_level::info:
      return "INFO";
    case log_level::warn:
      return "WARN";
    case log_level::error:
      return "ERROR";
  }
  return "INFO";
}

log_shipper::log_shipper(client::client& c, std::string topic, std::string function, int instance)
    : client_(c),
      topic_(std::move(topic)),
      function_(std::move(function)),
      instance_(std::to_string(instance)) {}

log_shipper::~log_shipper() = default;

void log_shipper::post(log_level level, std::string_view text, std::string_view message_id) {
  const auto spd = level == log_level::error  ? spdlog::level::err
                   : level == log_level::warn ? spdlog::level::warn
                   : level == log_level::info ? spdlog::level::info
                                              : spdlog::level::debug;
  if (message_id.empty()) {
    spdlog::log(spd, "[{}/{}] {}", function_, instance_, text);
  } else {
    spdlog::log(spd, "[{}/{}] {}: {}", function_, instance_, message_id, text);
  }
  const std::string line = message_id.empty() ? fmt::format("{} [{}/{}] {}", to_string(level),
                                                            function_, instance_, text)
                                              : fmt::format("{} [{}/{}] {}: {}", to_string(level),
                                                            function_, instance_, message_id, text);
  if (recent_.size() == recent_kept) recent_.pop_front();
  recent_.push_back({.time_ms = now_ms(), .line = line});
  if (topic_.empty() || stopping_) return;
  if (queue_.size() >= max_queued) {
    ++dropped_;
    return;
  }
  client::outgoing_message m{.payload = bytes(line.begin(), line.end())};
  m.properties = {
      {"function", function_}, {"instance", instance_}, {"level", std::string(to_string(level))}};
  if (!message_id.empty()) m.properties.emplace_back("message_id", std::string(message_id));
  queue_.push_back(std::move(m));
  wake_.notify_all();
}

bool log_shipper::tracing() const {
  return spdlog::should_log(spdlog::level::debug);
}

void log_shipper::trace(std::string_view message_id, std::string_view text) const {
  spdlog::debug("[{}/{}] {}: {}", function_, instance_, message_id, text);
}

awaitable<bool> log_shipper::ensure_producer() {
  if (producer_ || stopping_) co_return producer_ != nullptr;
  const client::producer_options options{.topic = topic_, .batching = true};
  const retry_policy::attempt_fn<std::unique_ptr<client::producer>> attempt = [this, &options] {
    return client_.create_producer(options);
  };
  const retry_policy::failure_fn failed = [this](const std::error_code& error,
                                                 std::chrono::milliseconds delay) {
    spdlog::warn("[{}/{}] log topic {}: {}; retrying in {} ms", function_, instance_, topic_,
                 error.message(), delay.count());
  };
  const retry_policy retry{.initial = std::chrono::milliseconds(100),
                           .max = std::chrono::seconds(10),
                           .pause = [this](std::chrono::milliseconds d) { return pause(d); }};
  auto made = co_await retry.until_done(attempt, failed);
  if (made) producer_ = std::move(*made);
  co_return producer_ != nullptr;
}

awaitable<void> log_shipper::run() {
  if (topic_.empty()) {
    finished_.set(true);
    co_return;
  }
  client::send_callback count_failures = [this](result<wire::message_id> r) {
    if (!r) ++send_failures_;
  };
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) break;
      co_await wake_.wait();
      continue;
    }
    const bool ready = co_await ensure_producer();
    if (!ready) break;
    auto m = std::move(queue_.front());
    queue_.pop_front();
    co_await producer_->send_async(std::move(m), count_failures);
  }
  finished_.set(true);
}

// A new log line or stop() cuts it short; false once stopping.
awaitable<bool> log_shipper::pause(std::chrono::milliseconds d) {
  co_await wake_.wait_until(clock::now() + d);
  co_return !stopping_;
}

void log_shipper::start(const asio::any_io_executor& ex) {
  started_ = true;
  asio::co_spawn(ex, run(), asio::detached);
}

awaitable<void> log_shipper::stop(clock::time_point deadline) {
  stopping_ = true;
  wake_.notify_all();
  co_await finished_.wait_until(deadline);
  if (producer_) {
    co_await producer_->flush();
    co_await producer_->close();
  }
  // Past the deadline, what run() still sends fails at once on the closed producer (and a
  // producer it is still creating is given up), so it ends soon; it uses this shipper until then.
  while (started_ && !finished_.ready()) {
    (void)co_await finished_.wait_until(clock::time_point::max());
  }
}

void run_stderr::add(std::string_view line) {
  if (held_.size() == max_held) {
    log_.post(log_level::info, held_.front(), message_id_);
    held_.pop_front();
  }
  held_.emplace_back(line);
}

void run_stderr::finish(bool failed) {
  for (const auto& line : held_) {
    log_.post(failed ? log_level::warn : log_level::info, line, message_id_);
  }
  held_.clear();
}

}  // namespace shfn::function
