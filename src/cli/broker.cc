// `shfn broker`: the embedded broker as a foreground process. Stops cleanly on SIGINT/SIGTERM.

#include "broker/broker.h"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "base/log.h"
#include "cli/common.h"
#include "storage/errc.h"

namespace shfn::cli {

namespace {

struct broker_flags {
  std::string listen = "127.0.0.1:6650";
  std::string data_dir = "shfn-data";
  std::string admin = "127.0.0.1:8080";
  std::string sync = "fsync";
  double sync_interval_ms = 0;
  double retention_seconds = 0;
  std::size_t max_open_files = 0;
  double idle_unload_seconds = 60;
  std::string token_secret_file;
};

int run_broker(const broker_flags& f) {
  if (f.sync != "fsync" && f.sync != "none") return error("invalid --sync", f.sync);
  const std::string admin = f.admin == "off" ? "" : f.admin;
  if (!admin.empty()) {
    if (auto ok = broker::parse_listen_address(admin); !ok) {
      return error("invalid --admin " + admin, ok.error().message());
    }
  }
  broker::broker_options options{
      .listen = f.listen,
      .data_dir = f.data_dir,
      .admin = admin,
      .sync = f.sync == "fsync" ? broker::sync_mode::fsync : broker::sync_mode::none,
      .sync_interval = std::chrono::microseconds(static_cast<long>(f.sync_interval_ms * 1000)),
      .retention = std::chrono::seconds(static_cast<long>(f.retention_seconds)),
      .idle_topic_unload =
          std::chrono::milliseconds(static_cast<long>(f.idle_unload_seconds * 1000)),
      .max_open_files = f.max_open_files,
      .token_secret_file = f.token_secret_file};
  asio::io_context io(1);
  auto b = broker::broker::start(io.get_executor(), options);
  if (!b) {
    if (storage::is_dir_in_use(b.error()))
      return error("cannot use " + f.data_dir, b.error().message());
    const std::string where = admin.empty() ? f.listen : f.listen + " (admin API on " + admin + ")";
    return error("cannot start the broker on " + where, b.error().message());
  }
  // Ready: say where, on stdout, for scripts that start us and wait for these lines.
  std::printf("shfn broker ready on %s\n", (*b)->service_url().c_str());
  if (!admin.empty()) std::printf("shfn admin ready on %s\n", (*b)->admin_url().c_str());
  std::fflush(stdout);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { (*b)->stop(); });
  io.run();
  return 0;
}

}  // namespace

void setup_broker(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("broker", "Run the embedded Pulsar-protocol broker");
  auto f = std::make_shared<broker_flags>();
  cmd->add_option("--listen", f->listen, "host:port for the Pulsar protocol (port 0: any free)")
      ->capture_default_str();
  cmd->add_option("--data-dir", f->data_dir, "Where topics and cursors are stored")
      ->capture_default_str();
  cmd->add_option("--admin", f->admin,
                  "host:port for the admin HTTP API and /metrics (port 0: any free; \"off\": none)")
      ->capture_default_str();
  cmd->add_option("--sync", f->sync, "fsync (receipts after fdatasync, group commit) or none")
      ->capture_default_str();
  cmd->add_option("--sync-interval", f->sync_interval_ms,
                  "Group commit: start an fdatasync no sooner than this many ms after the previous "
                  "one, so that more sends share it (receipts wait up to that much longer)")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  cmd->add_option("--retention", f->retention_seconds,
                  "Keep consumed data this many seconds before reclaiming it")
      ->capture_default_str();
  cmd->add_option("--max-open-files", f->max_open_files,
                  "Descriptors the topics' files may hold before the least recently used idle "
                  "topics are unloaded (0: half the soft RLIMIT_NOFILE)")
      ->capture_default_str();
  cmd->add_option("--idle-unload", f->idle_unload_seconds,
                  "Unload a topic with no producer and no consumer after this many seconds")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--token-secret-file", f->token_secret_file,
                  "Require token authentication: HS256 secret key file (raw bytes, as Pulsar's "
                  "tokenSecretKey)");
  cmd->callback([f, &exit_code] { exit_code = run_broker(*f); });
}

}  // namespace shfn::cli
