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
  std::string tls_listen;
  std::string admin_tls;
  std::string tls_certificate_file;
  std::string tls_key_file;
  std::string tls_trust_certs_file;
  bool tls_require_trusted_client_cert = false;
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
      .token_secret_file = f.token_secret_file,
      .tls_listen = f.tls_listen,
      .admin_tls = f.admin_tls,
      .tls = {.certificate = f.tls_certificate_file,
              .key = f.tls_key_file,
              .trust_certs = f.tls_trust_certs_file,
              .require_client_certificate = f.tls_require_trusted_client_cert}};
  if ((!f.tls_listen.empty() || !f.admin_tls.empty()) &&
      (f.tls_certificate_file.empty() || f.tls_key_file.empty())) {
    return error("--tls-listen and --admin-tls need",
                 "--tlsCertificateFilePath and --tlsKeyFilePath");
  }
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
  if (!f.tls_listen.empty())
    std::printf("shfn broker ready on %s\n", (*b)->tls_service_url().c_str());
  if (!f.admin_tls.empty()) std::printf("shfn admin ready on %s\n", (*b)->admin_tls_url().c_str());
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
      ->capture_default_str()
      ->transform(one_of({"fsync", "none"}));
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
  cmd->add_option("--tls-listen", f->tls_listen,
                  "host:port for pulsar+ssl:// too (Pulsar's brokerServicePortTls)");
  cmd->add_option("--admin-tls", f->admin_tls,
                  "host:port for the admin API over https too (Pulsar's webServicePortTls)");
  cmd->add_option("--tlsCertificateFilePath", f->tls_certificate_file,
                  "TLS: the broker's certificate (PEM, with its chain)");
  cmd->add_option("--tlsKeyFilePath", f->tls_key_file, "TLS: the broker's private key (PEM)");
  cmd->add_option("--tlsTrustCertsFilePath", f->tls_trust_certs_file,
                  "TLS: CAs (PEM) that client certificates must chain to; a client with one "
                  "authenticates with it (method tls, its common name the role)");
  cmd->add_flag("--tlsRequireTrustedClientCertOnConnect", f->tls_require_trusted_client_cert,
                "TLS: refuse the handshake of a client without a trusted certificate");
  cmd->callback([f, &exit_code] { exit_code = run_broker(*f); });
}

}  // namespace shfn::cli
