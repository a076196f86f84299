// `shfn run SPEC.yaml...`: runs the specs' functions, flows and cron sources (flow/plan.h) until
// SIGINT or SIGTERM, then drains them. SIGHUP (or, with --watch, a changed file) reloads the
// files: what changed restarts, the rest runs on, the embedded broker stays up.
// Without --url (and without SHFN_URL) it starts the embedded broker in-process first, on
// 127.0.0.1:6650 with its data in ./shfn-data (or $SHFN_DATA), so that `shfn produce`,
// `shfn consume` and the official clients can reach the same broker.

#include <fmt/ranges.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <set>
#include <tl/expected.hpp>

#include "base/clock.h"
#include "base/temp_dir.h"
#include "broker/auth.h"
#include "broker/broker.h"
#include "cli/common.h"
#include "client/client.h"
#include "config/spec.h"
#include "exec/orphans.h"
#include "exec/process.h"
#include "flow/ingress.h"
#include "flow/runtime.h"
#include "storage/errc.h"

namespace shfn::cli {

namespace {

struct run_flags {
  std::vector<std::string> specs;
  connection_flags conn;
  bool url_given = false;
  std::string url_source;  // "--url" or "SHFN_URL": why there is no embedded broker
  std::string listen = "127.0.0.1:6650";
  std::string data_dir;
  std::string functions_dir;      // the functions API's store; default: DATA_DIR/functions
  std::string token_secret_file;  // token authentication: the admin port, the embedded broker
  std::string admin = "127.0.0.1:8081";
  // The HTTP ingress (flow/ingress.h); "": 127.0.0.1:8082 when a spec has a Broker (or a
  // ContainerSource whose K_SINK is on it), else off.
  std::string ingress;
  int instance = 0;
  double drain_seconds = 30;
  int parallelism = 0;            // > 0: every function's, instead of the spec's
  int threads = 0;                // event loops for the instances; 0: sized to the machine
  bool watch = false;             // reload when a spec file changes
  std::vector<std::string> only;  // the documents to run, by name; empty: all
};

// A StatefulSet pod's ordinal from its name ("reverse-2" -> 2): the default instance id when
// SHFN_POD_NAME is set (the manifests of `shfn k8s render` set it); 0 otherwise.
int pod_ordinal(const char* pod_name) {
  const std::string_view name = pod_name != nullptr ? pod_name : "";
  const auto dash = name.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == name.size() || name.size() - dash > 10)
    return 0;
  int n = 0;
  for (char c : name.substr(dash + 1)) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

// --only names documents of the files; a typo would otherwise run nothing, silently.
std::vector<std::string> unknown_names(const std::vector<config::spec_file>& specs,
                                       const std::vector<std::string>& names) {
  std::set<std::string> known;
  for (const auto& spec : specs) {
    for (const auto& f : spec.functions) known.insert(f.name);
    for (const auto& d : config::flow_documents(spec)) known.insert(d.name);
  }
  std::vector<std::string> out;
  for (const auto& n : names)
    if (!known.contains(n)) out.push_back(n);
  return out;
}

// What time the cron sources believe it is: the system's, unless SHFN_CLOCK sets a virtual
// clock (tests: "2026-03-29T00:58:00Z*600" starts there and runs 600 times faster).
// The cores this process may run on, less the embedded broker's thread when there is one: the
// event loops that keep every core busy without taking the broker's.
int threads_for_machine(bool embedded_broker) {
  cpu_set_t cpus;
  const int cores = ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
  return std::max(1, cores - (embedded_broker ? 1 : 0));
}

result<flow::source_clock> source_clock_from_env() {
  const char* value = std::getenv("SHFN_CLOCK");
  if (value == nullptr || *value == '\0') return flow::source_clock{};
  return flow::source_clock::parse(value);
}

result<std::unique_ptr<broker::broker_thread>> start_embedded(const run_flags& f) {
  // Its admin API is served on `shfn run`'s admin port, next to the runtime's endpoints.
  broker::broker_options options{.listen = f.listen,
                                 .data_dir = f.data_dir,
                                 .admin = "",
                                 .admin_in_process = true,
                                 .token_secret_file = f.token_secret_file};
  return broker::broker_thread::start(options);
}

// A period in ms from the environment, else `fallback`. Testing knobs, so that tests need not
// wait: SHFN_PATTERN_DISCOVERY_MS (how often a topicsPattern is listed again: one minute, as
// Pulsar's clients) and SHFN_BACKLOG_REFRESH_MS (how often the inputs' backlog is asked: 5 s).
std::chrono::milliseconds period_from_env(const char* name, std::chrono::milliseconds fallback) {
  const char* ms = std::getenv(name);
  const long value = ms != nullptr ? std::strtol(ms, nullptr, 10) : 0;
  return value > 0 ? std::chrono::milliseconds(value) : fallback;
}

// One plan of every file's (each file's flows use the Functions of their own file) and of the
// Functions, flows and sources kept in `store` (made through the API), as the flags say:
// --only and --parallelism (on the files' documents: what the API made runs as it was made).
// Else every error, one line each (FILE:LINE:COL: FIELD: ...).
tl::expected<flow::plan, std::vector<std::string>> plan_from_files(
    const run_flags& f, const flow::function_store* store) {
  std::vector<std::string> paths = f.specs;
  if (store != nullptr) std::ranges::move(store->spec_paths(), std::back_inserter(paths));
  auto specs = config::load_files(paths);
  if (!specs) {
    std::vector<std::string> errors;
    for (const auto& e : specs.error()) errors.push_back(e.to_string());
    return tl::unexpected(std::move(errors));
  }
  if (auto unknown = unknown_names(*specs, f.only); !unknown.empty()) {
    return tl::unexpected(std::vector<std::string>{
        fmt::format("--only {}: no function, flow or source of that name in {}", unknown.front(),
                    fmt::join(f.specs, ", "))});
  }
  const flow::plan_options options{.only = {f.only.begin(), f.only.end()}};
  flow::plan all;
  for (std::size_t k = 0; k < specs->size(); ++k) {
    auto& spec = (*specs)[k];
    const bool kept = k >= f.specs.size();  // made through the API: runs as it was made
    if (f.parallelism > 0 && !kept)
      for (auto& fn : spec.functions) fn.parallelism = f.parallelism;
    flow::append(all, flow::make_plan(spec, kept ? flow::plan_options{} : options));
  }
  return all;
}

// SIGHUP, and with --watch a change to a spec file: the files read again and the runtime told
// to run what they say now (flow::runtime::apply restarts only what changed). Files that do not
// load change nothing: every error is logged, and the old set runs on.
class reloader {
 public:
  reloader(asio::io_context& io, const run_flags& f, flow::runtime& rt,
           const flow::function_store* store)
      : io_(io), flags_(f), runtime_(rt), store_(store), hangup_(io, SIGHUP), poll_(io) {}

  void start() {
    wait_for_hangup();
    if (!flags_.watch) return;
    seen_ = stamps();
    watch();
  }
  void stop() {
    hangup_.cancel();
    poll_.cancel();
  }

 private:
  // What tells a file changed: its modification time and size (0s for a file that is gone).
  using stamp = std::pair<std::filesystem::file_time_type, std::uintmax_t>;

  std::vector<stamp> stamps() const {
    std::vector<stamp> out;
    for (const auto& path : flags_.specs) {
      std::error_code time_error, size_error;
      const auto time = std::filesystem::last_write_time(path, time_error);
      const auto size = std::filesystem::file_size(path, size_error);
      out.emplace_back(time_error ? std::filesystem::file_time_type{} : time,
                       size_error ? 0 : size);
    }
    return out;
  }

  void wait_for_hangup() {
    hangup_.async_wait([this](std::error_code ec, int) {
      if (ec) return;
      reload("SIGHUP");
      wait_for_hangup();
    });
  }

  void watch() {
    poll_.expires_after(std::chrono::seconds(1));
    poll_.async_wait([this](std::error_code ec) {
      if (ec) return;
      if (auto now = stamps(); now != seen_) {
        seen_ = std::move(now);
        reload("a spec file changed");
      }
      watch();
    });
  }

  void reload(const std::string& why) {
    spdlog::info("reload ({}): reading {}", why, fmt::join(flags_.specs, ", "));
    flow::plan_maker make = [this] { return plan_from_files(flags_, store_); };
    asio::co_spawn(io_, runtime_.reload(std::move(make)), [](std::exception_ptr, result<void>) {});
  }

  asio::io_context& io_;
  const run_flags& flags_;
  flow::runtime& runtime_;
  const flow::function_store* store_;
  asio::signal_set hangup_;
  asio::steady_timer poll_;
  std::vector<stamp> seen_;
};

// "cannot bind: Address already in use", and what to do about it.
std::string with_port_hint(const std::error_code& ec, const std::string& flag) {
  const bool in_use = ec == std::errc::address_in_use || ec == asio::error::address_in_use;
  if (!in_use) return ec.message();
  return ec.message() + " (another shfn run or broker?): give " + flag +
         " 127.0.0.1:0 for any free port" +
         (flag == "--listen" ? ", or --url to use the broker there" : ", or " + flag + " off");
}

// Where the ingress listens: --ingress as given ("off": nowhere), else 127.0.0.1:8082 when the
// plan wants one (flow::wants_ingress).
std::string ingress_address(const run_flags& f, bool wanted) {
  if (f.ingress == "off") return {};
  if (!f.ingress.empty()) return f.ingress;
  return wanted ? "127.0.0.1:8082" : "";
}

// Why `shfn run` ends when a function, stage or source of its specs cannot start. The error
// names none of them: the line logged before it does.
std::string not_started(const std::error_code& error) {
  return "something in it could not start (" + error.message() +
         "); the error logged above says what";
}

// The runtime until it stops, then the ingress's producers closed.
asio::awaitable<result<void>> run_then_close(flow::runtime* rt, flow::event_ingress* ingress,
                                             std::function<void()> on_ready) {
  auto r = co_await rt->run(std::move(on_ready));
  if (ingress != nullptr) co_await ingress->close();
  co_return r;
}

int run_functions(const run_flags& f) {
  // A SIGHUP before the reloader listens changes nothing, rather than ending the process.
  std::signal(SIGHUP, SIG_IGN);
  // What the functions API creates is kept beside the embedded broker's data, or where told.
  std::unique_ptr<flow::function_store> store;
  const std::string store_dir =
      !f.functions_dir.empty()
          ? f.functions_dir
          : (f.url_given ? "" : (std::filesystem::path(f.data_dir) / "functions").string());
  if (!store_dir.empty()) {
    auto opened = flow::function_store::open(store_dir);
    if (!opened) return error("cannot use " + store_dir, opened.error().message());
    store = std::move(*opened);
  }
  auto planned = plan_from_files(f, store.get());
  if (!planned) {
    for (const auto& e : planned.error()) std::fprintf(stderr, "%s\n", e.c_str());
    return 1;
  }
  flow::plan plan = std::move(*planned);
  const std::string spec_names = fmt::format("{}", fmt::join(f.specs, ", "));
  auto clock = source_clock_from_env();
  if (!clock) return error("invalid SHFN_CLOCK", clock.error().message());
  exec::ignore_sigpipe();
  if (auto adopted = exec::adopt_orphans(); !adopted) {
    spdlog::warn(
        "cannot become the scripts' subreaper ({}): a process a script moves out of its "
        "process group (setsid) will outlive the script",
        adopted.error().message());
  }

  std::optional<broker::token_authenticator> tokens;
  if (!f.token_secret_file.empty()) {
    auto loaded = broker::token_authenticator::from_secret_file(f.token_secret_file);
    if (!loaded) return error("cannot read --token-secret-file", loaded.error().message());
    tokens = std::move(*loaded);
  }
  client::client_options client_options = f.conn.options();
  std::unique_ptr<broker::broker_thread> embedded;
  if (f.url_given) {
    spdlog::info("using the broker at {} (from {}); no embedded broker", f.conn.url, f.url_source);
  } else {
    spdlog::info("starting the embedded broker on {} with its data in {} (no --url or SHFN_URL)",
                 f.listen, f.data_dir);
    auto b = start_embedded(f);
    if (!b) {
      if (storage::is_dir_in_use(b.error())) {
        return error("cannot use " + f.data_dir, b.error().message());
      }
      return error("cannot start the embedded broker on " + f.listen,
                   with_port_hint(b.error(), "--listen"));
    }
    embedded = std::move(*b);
    // The spec is the declaration: its topics' namespaces are created, as its topics are.
    if (auto made = embedded->create_namespaces(flow::namespaces_of(plan)); !made) {
      return error("cannot create the spec's namespaces in " + f.data_dir, made.error().message());
    }
    client_options.service_url = embedded->service_url();
    // Its own clients sign their token with the key the broker checks.
    if (tokens) client_options.auth_token = tokens->sign("shfn-run");
    std::printf("shfn broker ready on %s\n", embedded->service_url().c_str());
  }

  const temp_dir scratch("shfn-run");  // the scripts' metadata files
  if (scratch.path().empty()) return error("cannot create a scratch directory", "mkdtemp failed");
  asio::io_context io(1);
  auto c = client::client::create(io.get_executor(), client_options);
  if (!c) return error("invalid connection settings", c.error().message());

  std::string ingress_url;  // once it serves: the K_SINK of command sources starts with it
  const flow::runtime_options options{
      .instance_id = f.instance,
      .scratch_dir = scratch.path().string(),
      .drain_timeout = std::chrono::milliseconds(static_cast<long>(f.drain_seconds * 1000)),
      .pattern_discovery = period_from_env("SHFN_PATTERN_DISCOVERY_MS", std::chrono::minutes(1)),
      .backlog_refresh = period_from_env("SHFN_BACKLOG_REFRESH_MS", std::chrono::seconds(5)),
      .clock = *clock,
      .ingress_url = [&ingress_url] { return ingress_url; },
      .source_token = tokens ? tokens->sign("shfn-source") : std::string(),
      .broker_disk_full =
          embedded ? std::function<bool()>([b = embedded.get()] { return b->disk_full(); })
                   : nullptr,
      .broker_admin = embedded
                          ? flow::admin_handler([b = embedded.get()](const http::http_request& r) {
                              return b->admin(r);
                            })
                          : nullptr,
      .threads = f.threads > 0 ? f.threads : threads_for_machine(embedded != nullptr),
      .store = store.get(),
      .authenticate = tokens ? std::function<bool(const http::http_request&)>(
                                   [&tokens](const http::http_request& r) {
                                     const auto token = http::bearer_token(r);
                                     return token && tokens->verify(*token, now_seconds());
                                   })
                             : nullptr,
      // The spec is the declaration: its topics' namespaces are created, as its topics are.
      .prepare = embedded ? std::function<result<void>(const flow::plan&)>(
                                [b = embedded.get()](const flow::plan& p) {
                                  return b->create_namespaces(flow::namespaces_of(p));
                                })
                          : nullptr};
  const bool ingress_wanted = flow::wants_ingress(plan);
  flow::runtime rt(**c, std::move(plan), options);
  if (f.admin != "off") {
    auto at = broker::parse_listen_address(f.admin);
    if (!at) return error("invalid --admin " + f.admin, at.error().message());
    auto served = rt.serve_admin(io.get_executor(), *at);
    if (!served) {
      return error("cannot serve the admin API on " + f.admin,
                   with_port_hint(served.error(), "--admin"));
    }
    if (embedded) embedded->advertise_admin_url(rt.admin_url());
    std::printf("shfn admin ready on %s\n", rt.admin_url().c_str());
  }
  std::unique_ptr<flow::event_ingress> ingress;
  if (const std::string at_text = ingress_address(f, ingress_wanted); !at_text.empty()) {
    auto at = broker::parse_listen_address(at_text);
    if (!at) return error("invalid --ingress " + at_text, at.error().message());
    ingress = std::make_unique<flow::event_ingress>(
        **c, flow::event_ingress::options{.routes = [&rt]() -> const auto& { return rt.routes(); },
                                          .authenticate = options.authenticate});
    if (auto served = ingress->serve(io.get_executor(), *at); !served) {
      return error("cannot serve the ingress on " + at_text,
                   with_port_hint(served.error(), "--ingress"));
    }
    ingress_url = ingress->url();
    std::printf("shfn ingress ready on %s\n", ingress_url.c_str());
  }
  std::fflush(stdout);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int) {
    if (!ec) rt.stop();
  });
  reloader reloads(io, f, rt, store.get());
  reloads.start();
  int code = 0;
  std::function<void()> on_ready = [] {
    std::printf("shfn functions ready\n");
    std::fflush(stdout);
  };
  asio::co_spawn(io, run_then_close(&rt, ingress.get(), on_ready),
                 [&](std::exception_ptr e, result<void> r) {
                   signals.cancel();
                   reloads.stop();
                   if (e) {
                     code = error("internal error", "the runtime threw");
                   } else if (!r) {
                     code = error("cannot run " + spec_names, not_started(r.error()));
                   }
                   (*c)->close();
                 });
  io.run();
  return code;
}

}  // namespace

void setup_run(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("run", "Run the functions, flows and sources of spec files");
  auto f = std::make_shared<run_flags>();
  const char* data = std::getenv("SHFN_DATA");
  f->data_dir = data != nullptr && *data != '\0' ? data : "shfn-data";
  cmd->add_option("spec", f->specs,
                  "Spec files (YAML); a name is used once across them, and a flow's refs name "
                  "Functions of its own file")
      ->required();
  f->conn.add_to(*cmd);
  cmd->add_option("--listen", f->listen,
                  "Embedded broker: host:port for the Pulsar protocol (port 0: any free)")
      ->capture_default_str();
  cmd->add_option("--data-dir", f->data_dir,
                  "Embedded broker: where data is stored (env SHFN_DATA)")
      ->capture_default_str();
  cmd->add_option("--functions-dir", f->functions_dir,
                  "Where the functions API keeps the Functions it creates and which ones are "
                  "stopped (default: DATA_DIR/functions; with --url, none unless given)");
  cmd->add_option("--token-secret-file", f->token_secret_file,
                  "Token authentication: the HS256 key file (as Pulsar's tokenSecretKey) that "
                  "signs the tokens the admin port asks of every request but /healthz, /readyz "
                  "and /metrics, and the embedded broker of every client");
  cmd->add_option("--ingress", f->ingress,
                  "host:port of the HTTP ingress: POST /NAMESPACE/NAME sends a CloudEvent into "
                  "that Broker, Channel, Parallel or Sequence (port 0: any free; \"off\": none; "
                  "default: 127.0.0.1:8082 when a spec has a Broker, or a ContainerSource whose "
                  "K_SINK is on it, else off)");
  cmd->add_option("--admin", f->admin,
                  "host:port for /healthz, /readyz, /metrics and /status (port 0: any free; "
                  "\"off\": none)")
      ->capture_default_str();
  f->instance = pod_ordinal(std::getenv("SHFN_POD_NAME"));
  cmd->add_option("--instance", f->instance,
                  "Instance id (default: the ordinal ending $SHFN_POD_NAME, a StatefulSet pod's "
                  "name, else 0)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--parallelism", f->parallelism,
                  "Run every function with this parallelism instead of the spec's (a Kubernetes "
                  "pod runs 1: there, the replicas make the parallelism)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--only", f->only,
                  "Run only these functions, flows or cron sources (by name; repeat or separate "
                  "with commas); the functions a flow uses lend it their commands either way")
      ->delimiter(',');
  cmd->add_option("--threads", f->threads,
                  "Event loops to spread the functions over (default: one per core, less one "
                  "for the embedded broker); a function of parallelism p on a Shared "
                  "subscription then runs as up to this many instances, each with a consumer")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--watch", f->watch,
                "Reload when a spec file changes (checked every second), as on SIGHUP: what "
                "changed restarts, the rest runs on");
  cmd->add_option("--drain-timeout", f->drain_seconds,
                  "On SIGTERM, seconds to let in-flight messages finish")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->callback([f, cmd, &exit_code] {
    const char* env_url = std::getenv("SHFN_URL");
    f->url_given = cmd->count("--url") > 0 || (env_url != nullptr && *env_url != '\0');
    f->url_source = cmd->count("--url") > 0 ? "--url" : "SHFN_URL";
    if (f->url_given && (cmd->count("--listen") > 0 || cmd->count("--data-dir") > 0)) {
      // They configure the embedded broker, which a remote URL turns off: never ignore them.
      error(cmd->count("--listen") > 0 ? "--listen" : "--data-dir",
            "configures the embedded broker, which does not run when " + f->url_source +
                " names a broker (" + f->conn.url + "); drop one or the other");
      exit_code = 2;  // a usage error
      return;
    }
    // Lifecycle lines are the point of a long-running command: info unless SHFN_LOG says.
    if (std::getenv("SHFN_LOG") == nullptr) spdlog::set_level(spdlog::level::info);
    exit_code = run_functions(*f);
  });
}

}  // namespace shfn::cli
