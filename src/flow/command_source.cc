#include "flow/command_source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>
#include <csignal>
#include <filesystem>
#include <optional>
#include <string_view>

#include "base/backoff.h"
#include "base/notifier.h"
#include "base/retry.h"
#include "base/spawn.h"
#include "client/errc.h"
#include "client/producer.h"
#include "event/event.h"
#include "event/json_format.h"
#include "event/pulsar_binding.h"
#include "event/uuid.h"
#include "exec/child.h"
#include "exec/pipe_io.h"
#include "exec/spawn.h"
#include "exec/stderr_lines.h"
#include "function/script_env.h"

extern char** environ;

namespace shfn::flow {
namespace {

namespace fs = std::filesystem;
using asio::awaitable;
using nlohmann::json;

constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::string_view line_event_type = "dev.shfn.line";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A line as it may go into shfn's log: control characters (a terminal's escapes among them)
// shown as '?'.
std::string printable(std::string_view line) {
  std::string out(line);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) c = '?';
  }
  return out;
}

// What a line is, from one parse: a structured CloudEvent (a JSON object, from its first byte,
// naming its specversion), other JSON, or text.
enum class line_kind { cloud_event, json, text };

line_kind kind_of_line(std::string_view line) {
  const json parsed = json::parse(line, nullptr, false);
  if (parsed.is_discarded()) return line_kind::text;
  const bool event = line.starts_with('{') && parsed.is_object() && parsed.contains("specversion");
  return event ? line_kind::cloud_event : line_kind::json;
}

// One run of the command: the child and what its helpers share with the loop reading stdout.
struct life {
  life(const asio::any_io_executor& ex, exec::spawned s)
      : proc(ex, std::move(s)), err(exec::limits{}.max_stderr_line, 0) {}

  exec::child proc;
  exec::stderr_lines err;
  bool exited = false;
  notifier exit_seen;
  clock::time_point started = clock::now();
};

awaitable<void> watch_exit(std::shared_ptr<life> l) {
  co_await l->proc.wait_exit();
  l->exited = true;
  l->proc.cancel_waits(false, true, true);  // the readers drain what is left, then stop
  l->exit_seen.notify_all();
}

awaitable<void> log_stderr(std::shared_ptr<life> l, std::string name) {
  auto& pipe = l->proc.stderr_pipe();
  std::string buffer(read_chunk, '\0');
  const exec::line_sink to_log = [&name](std::string_view line) {
    spdlog::info("source {}: {}", name, printable(line));
  };
  while (pipe.is_open()) {
    const auto r = exec::read_some(pipe.native_handle(),
                                   {reinterpret_cast<std::uint8_t*>(buffer.data()), buffer.size()});
    if (r.status == exec::io_status::transferred) {
      l->err.feed(std::string_view(buffer).substr(0, r.count), to_log);
      continue;
    }
    if (r.status != exec::io_status::would_block || l->exited) break;
    const bool ready = co_await exec::wait_ready(&pipe, exec::child::descriptor::wait_read);
    if (!ready) break;
  }
  l->err.finish(to_log);
}

// The environment SinkBinding would give the container, on top of shfn's own and `env`.
exec::env_list environment_for(const config::command_source_spec& spec,
                               const std::string& ingress_url, const std::string& token) {
  exec::env_list env = function::inherited_environment(environ);
  for (std::string_view set_here : config::sink_binding_variables)
    std::erase_if(env, [set_here](const auto& kv) { return kv.first == set_here; });
  for (const auto& [name, value] : spec.env) function::set_variable(env, name, value);
  env.emplace_back("SHFN_SOURCE", spec.name);
  if (!token.empty()) env.emplace_back("SHFN_TOKEN", token);
  if (spec.sink_url.starts_with('/')) {
    if (!ingress_url.empty()) env.emplace_back("K_SINK", ingress_url + spec.sink_url);
  } else if (!spec.sink_url.empty()) {
    env.emplace_back("K_SINK", spec.sink_url);
  }
  if (!spec.sink_ca_certs.empty()) env.emplace_back("K_CA_CERTS", spec.sink_ca_certs);
  if (!spec.extensions.empty()) {
    json extensions = json::object();
    for (const auto& [name, value] : spec.extensions) extensions[name] = value;
    const json overrides = {{"extensions", extensions}};
    env.emplace_back("K_CE_OVERRIDES",
                     overrides.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  return env;
}

}  // namespace

struct command_source::impl : std::enable_shared_from_this<impl> {
  impl(client::client& c, config::command_source_spec s, command_source_options o)
      : client(c), spec(std::move(s)), options(std::move(o)) {}

  awaitable<result<void>> start();
  awaitable<void> run();
  void stop();

  result<void> check_program() const;
  awaitable<bool> create_producer();
  // One run of the command, from spawning it until it has ended and its stdout is drained.
  awaitable<void> run_once();
  awaitable<void> read_lines(std::shared_ptr<life> l);
  // Splits what stdout gave into lines and publishes each complete one.
  awaitable<void> take(std::string_view chunk);
  awaitable<void> publish(std::string_view line);
  std::optional<event::cloud_event> event_for(std::string_view line);
  // SIGTERM now, SIGKILL kill_grace later, unless it has ended by then.
  awaitable<void> terminate(std::shared_ptr<life> l);
  // A send waiting for room in the producer (the broker away) would hold the stop forever: at
  // drain_timeout after stop(), the producer is closed, which fails what is still waiting.
  awaitable<void> give_up_after_drain();
  awaitable<void> wait_for_receipts();
  awaitable<bool> pause(std::chrono::milliseconds d);

  client::client& client;
  config::command_source_spec spec;
  command_source_options options;

  std::unique_ptr<client::producer> producer;
  std::shared_ptr<life> current;
  std::string partial;    // stdout since the last '\n'
  bool skipping = false;  // the line under way is over max_line: dropped up to its '\n'
  std::uint64_t lines = 0, sent = 0, events = 0, invalid = 0, failed = 0, restarts = 0;
  std::uint64_t abandoned = 0;  // sends failed by closing the producer on a stop
  std::string last_exit, last_error;
  bool ready = false;
  bool stopping = false;
  bool finished = false;
  notifier stop_requested;
  notifier finishing;                           // run() has ended its loop
  notifier receipts;                            // a send's outcome came
  std::optional<asio::any_io_executor> run_ex;  // set once run() runs
  gate helpers;                                 // give_up_after_drain
};

awaitable<result<void>> command_source::impl::start() {
  if (auto runnable = check_program(); !runnable) co_return runnable;
  const bool made = co_await create_producer();
  if (!made) co_return fail(std::make_error_code(std::errc::operation_canceled));
  ready = true;
  spdlog::info("source {}: ready, publishing the lines of {} to {}", spec.name, spec.argv.front(),
               spec.sink.topic);
  co_return result<void>{};
}

// A command that cannot run is the spec's mistake: said once, at start, rather than at every
// restart.
result<void> command_source::impl::check_program() const {
  const std::string& program = spec.argv.front();
  auto found = exec::find_program(program, environment_for(spec, {}, {}));
  if (!found) {
    spdlog::error("source {}: cannot run {}: not found in PATH", spec.name, program);
    return fail(found.error());
  }
  const fs::path path = fs::path(*found).is_absolute()
                            ? fs::path(*found)
                            : (fs::path(spec.working_dir) / *found).lexically_normal();
  if (::access(path.c_str(), X_OK) != 0) {
    const std::error_code error(errno, std::system_category());
    spdlog::error("source {}: cannot run {}: {}", spec.name, path.string(), error.message());
    return fail(error);
  }
  return {};
}

// No send timeout: a line waits for the broker as long as it takes (the producer resends after
// a reconnect), and the command waits on its pipe meanwhile. Batching, for a chatty command.
awaitable<bool> command_source::impl::create_producer() {
  const client::producer_options popts{
      .topic = spec.sink.topic, .batching = true, .send_timeout = std::chrono::milliseconds(0)};
  const retry_policy::attempt_fn<std::unique_ptr<client::producer>> attempt = [this, &popts] {
    return client.create_producer(popts);
  };
  const retry_policy::failure_fn failed = [this](const std::error_code& error,
                                                 std::chrono::milliseconds delay) {
    spdlog::warn("source {}: cannot create a producer on {}: {}; retrying in {} ms", spec.name,
                 spec.sink.topic, error.message(), delay.count());
  };
  if (stopping) co_return false;
  const retry_policy retry{.initial = options.retry_initial,
                           .max = options.retry_max,
                           .pause = [this](std::chrono::milliseconds d) { return pause(d); }};
  auto made = co_await retry.until_done(attempt, failed);
  if (made) producer = std::move(*made);
  co_return producer != nullptr;
}

awaitable<void> command_source::impl::run() {
  if (!producer) co_return;  // start() did not succeed
  run_ex = co_await asio::this_coro::executor;
  backoff delays(options.restart_initial, options.restart_max);
  while (!stopping) {
    const auto began = clock::now();
    co_await run_once();
    if (stopping) break;
    if (clock::now() - began >= options.restart_max) delays.reset();
    const auto delay = delays.next();
    ++restarts;
    spdlog::warn("source {}: {}; starting it again in {} ms", spec.name, last_exit, delay.count());
    if (!co_await pause(delay)) break;
  }
  co_await wait_for_receipts();
  finished = true;
  finishing.notify_all();
  co_await helpers.close();
  co_await producer->close();
  ready = false;
  spdlog::info("source {}: stopped after {} line(s), {} event(s) stored{}", spec.name, lines,
               events,
               abandoned == 0 ? std::string()
                              : fmt::format(", {} not (the broker was away until the drain "
                                            "timeout ended)",
                                            abandoned));
}

awaitable<void> command_source::impl::run_once() {
  const exec::spawn_spec how{.argv = spec.argv,
                             .env = environment_for(spec, options.ingress_url(), options.token),
                             .working_dir = spec.working_dir};
  auto spawned = exec::spawn_child(how);
  if (!spawned) {
    last_error = last_exit = exec::spawn_error_message(how, spawned.error());
    spdlog::error("source {}: {}", spec.name, last_error);
    co_return;
  }
  const auto ex = co_await asio::this_coro::executor;
  auto l = std::make_shared<life>(ex, std::move(*spawned));
  l->proc.close_stdin();
  current = l;
  asio::co_spawn(ex, watch_exit(l), asio::detached);
  asio::co_spawn(ex, log_stderr(l, spec.name), asio::detached);
  spdlog::info("source {}: started {} (pid {})", spec.name, spec.argv.front(), l->proc.pid());
  co_await read_lines(l);
  while (!l->exited) co_await l->exit_seen.wait();
  current.reset();
  partial.clear();  // a last line without '\n' was taken by read_lines
  skipping = false;
  const auto ran = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - l->started);
  last_exit = fmt::format("the command ended after {} ms: {}", ran.count(),
                          exec::describe(l->proc.status()));
}

awaitable<void> command_source::impl::read_lines(std::shared_ptr<life> l) {
  auto& pipe = l->proc.stdout_pipe();
  std::string buffer(read_chunk, '\0');
  while (pipe.is_open()) {
    const auto r = exec::read_some(pipe.native_handle(),
                                   {reinterpret_cast<std::uint8_t*>(buffer.data()), buffer.size()});
    if (r.status == exec::io_status::transferred) {
      co_await take(std::string_view(buffer).substr(0, r.count));
      continue;
    }
    if (r.status != exec::io_status::would_block || l->exited) break;
    const bool ready_to_read = co_await exec::wait_ready(&pipe, exec::child::descriptor::wait_read);
    if (!ready_to_read) break;
  }
  // A last line without its '\n' is a line all the same, as for stderr.
  if (!partial.empty() && !skipping) co_await publish(partial);
}

awaitable<void> command_source::impl::take(std::string_view chunk) {
  while (!chunk.empty()) {
    const auto newline = chunk.find('\n');
    const std::string_view piece = chunk.substr(0, newline);
    if (!skipping) partial.append(piece);
    if (partial.size() > options.max_line && !skipping) {
      skipping = true;
      partial.clear();
      ++invalid;
      last_error = fmt::format("a line over {} bytes: skipped", options.max_line);
      spdlog::error("source {}: {}", spec.name, last_error);
    }
    if (newline == std::string_view::npos) break;
    if (!skipping) co_await publish(partial);
    partial.clear();
    skipping = false;
    chunk.remove_prefix(newline + 1);
  }
}

std::optional<event::cloud_event> command_source::impl::event_for(std::string_view line) {
  const line_kind kind = kind_of_line(line);
  if (kind == line_kind::cloud_event) {
    auto parsed = event::from_json(line);
    if (!parsed) {
      ++invalid;
      last_error = "a line is not a valid CloudEvent: " + parsed.error().to_string();
      spdlog::error("source {}: {}: {}", spec.name, last_error, printable(line.substr(0, 200)));
      return std::nullopt;
    }
    for (const auto& [name, value] : spec.extensions)
      (void)event::set_attribute(*parsed, name, value);
    return std::move(*parsed);
  }
  event::cloud_event e;
  e.id = event::uuid_v4();
  e.source = spec.source;
  e.type = std::string(line_event_type);
  e.time = event::format_time_ms(now_ms());
  e.datacontenttype = kind == line_kind::json ? "application/json" : "text/plain";
  e.extensions = spec.extensions;
  e.data.assign(line.begin(), line.end());
  e.has_data = true;
  return e;
}

awaitable<void> command_source::impl::publish(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  ++lines;
  auto e = event_for(line);
  if (!e) co_return;
  event::message_parts parts = event::encode_binary(*e);
  client::outgoing_message m{.payload = std::move(parts.payload),
                             .properties = std::move(parts.props)};
  if (auto key = event::attribute(*e, "partitionkey")) m.key = std::string(*key);
  // Named, not a temporary: GCC 12 destroys capturing lambda temporaries in co_await twice.
  const client::send_callback done = [self = shared_from_this(),
                                      id = e->id](result<wire::message_id> outcome) {
    if (outcome) {
      ++self->events;
    } else if (self->stopping && outcome.error() == client::errc::closed) {
      ++self->abandoned;  // counted in the last log line
    } else {
      // Not a lost connection (the producer resends through those): the broker refused it.
      ++self->failed;
      self->last_error =
          fmt::format("the broker refused event {}: {}", id, outcome.error().message());
      spdlog::error("source {}: {}", self->spec.name, self->last_error);
    }
    self->receipts.notify_all();
  };
  ++sent;
  co_await producer->send_async(std::move(m), done);
}

void command_source::impl::stop() {
  if (stopping) return;
  stopping = true;
  stop_requested.notify_all();
  if (!run_ex) return;  // run() has not started: it will not
  if (current && !current->exited) asio::co_spawn(*run_ex, terminate(current), asio::detached);
  spawn_held(*run_ex, helpers, give_up_after_drain());
}

awaitable<void> command_source::impl::give_up_after_drain() {
  const auto deadline = clock::now() + options.drain_timeout;
  while (!finished && clock::now() < deadline) co_await finishing.wait_until(deadline);
  if (finished) co_return;
  spdlog::warn(
      "source {}: the broker has not taken what the command printed within {} ms: "
      "giving up on it",
      spec.name, options.drain_timeout.count());
  co_await producer->close();
}

awaitable<void> command_source::impl::terminate(std::shared_ptr<life> l) {
  l->proc.signal_group(SIGTERM);
  const auto deadline = clock::now() + options.kill_grace;
  while (!l->exited && clock::now() < deadline) co_await l->exit_seen.wait_until(deadline);
  if (!l->exited) {
    spdlog::warn("source {}: the command outlived SIGTERM by {} ms: SIGKILL", spec.name,
                 options.kill_grace.count());
    l->proc.signal_group(SIGKILL);
  }
}

awaitable<void> command_source::impl::wait_for_receipts() {
  producer->send_open_batches();
  const auto deadline = clock::now() + options.drain_timeout;
  while (events + failed + abandoned < sent && clock::now() < deadline)
    co_await receipts.wait_until(deadline);
}

awaitable<bool> command_source::impl::pause(std::chrono::milliseconds d) {
  if (!stopping) co_await stop_requested.wait_until(clock::now() + d);
  co_return !stopping;
}

command_source::command_source(client::client& c, config::command_source_spec spec,
                               command_source_options options)
    : impl_(std::make_shared<impl>(c, std::move(spec), std::move(options))) {}

command_source::~command_source() = default;

awaitable<result<void>> command_source::start() {
  co_return co_await impl_->start();
}

awaitable<void> command_source::run() {
  co_await impl_->run();
}

void command_source::stop() {
  impl_->stop();
}

bool command_source::ready() const {
  return impl_->ready;
}

source_counts command_source::counts() const {
  return {.received = impl_->lines,
          .written = impl_->events,
          .restarts = impl_->restarts,
          .last_error = impl_->last_error};
}

json command_source::status() const {
  const impl& s = *impl_;
  return {
      {"source", s.spec.name},
      {"kind", "ContainerSource"},
      {"command", s.spec.argv},
      {"sink", s.spec.sink.topic},
      {"pid", s.current ? json(s.current->proc.pid()) : json()},
      {"lines", s.lines},
      {"events", s.events},
      {"invalid", s.invalid},
      {"restarts", s.restarts},
      {"last_exit", s.last_exit.empty() ? json() : json(s.last_exit)},
      {"last_error", s.last_error},
      {"ready", s.ready},
  };
}

}  // namespace shfn::flow
