#pragma once
// Configuration of the embedded broker; designated-initializer friendly.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "http/transport.h"
#include "wire/frame.h"

namespace shfn::broker {

using namespace std::chrono_literals;

enum class sync_mode {
  fsync,  // a SEND_RECEIPT waits for fdatasync (group commit): survives power loss
  none,   // receipts as soon as the entry is written: survives kill -9, not power loss
};

struct broker_options {
  std::string listen = "127.0.0.1:6650";  // host:port; port 0 picks a free one
  std::filesystem::path data_dir = "shfn-data";
  std::string admin = "127.0.0.1:8080";  // host:port of the admin HTTP API; empty: off
  // With `admin` empty: the admin API still answers, through broker::admin() only, for a host
  // that serves it on a port of its own (`shfn run` on its admin port).
  bool admin_in_process = false;
  sync_mode sync = sync_mode::fsync;
  // Group commit: an fdatasync starts no sooner than this after the previous one started, so
  // that the sends arriving meanwhile share it (storage/syncer.h). After a quiet spell a send
  // is synced at once; under load its receipt, and its delivery to subscriptions, wait up to
  // this much longer, on every hop of a flow. 0: a sync starts as soon as the previous one is
  // done. Worth it where a message costs more than that anyway (exec mode: a process each).
  std::chrono::microseconds sync_interval = 0us;
  std::size_t max_message_size = wire::default_max_message_size;
  std::uint64_t segment_bytes = 64ull << 20;
  // Consumed data older than this is deleted (whole segments). Unconsumed data is kept.
  std::chrono::seconds retention = 0s;
  std::chrono::milliseconds trim_interval = 60s;
  // Idle topics (no producer, no consumer, nothing pending) are unloaded, their files closed:
  // once unused this long (checked every trim_interval), and at once, least recently used
  // first, when loading another topic would take the descriptors the topics hold past
  // max_open_files (0: half the soft RLIMIT_NOFILE, leaving the rest to connections).
  std::chrono::milliseconds idle_topic_unload = 60s;
  std::size_t max_open_files = 0;
  // A connection silent this long gets a PING; silent for another period, it is closed (so a
  // client that vanished without closing its socket releases its producers and consumers).
  std::chrono::milliseconds keepalive = 30s;
  // Token authentication: the HS256 secret key file (raw bytes, as Pulsar's tokenSecretKey).
  // Empty: no authentication.
  std::filesystem::path token_secret_file;
  // TLS, as Pulsar's brokerServicePortTls and webServicePortTls: a second listener for
  // pulsar+ssl://, and the admin API over https, each host:port (empty: none). The files are
  // Pulsar's tlsCertificateFilePath, tlsKeyFilePath and tlsTrustCertsFilePath (http/transport.h);
  // a client whose certificate verifies against the trust certs may authenticate with it
  // (method "tls", its common name the role), token authentication or not.
  std::string tls_listen;
  std::string admin_tls;
  http::tls_files tls;
};

}  // namespace shfn::broker
