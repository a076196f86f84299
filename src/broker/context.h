#pragma once
// What every part of the broker shares: the executor everything runs on, the syncer thread that
// does group commit, the data directory and the options. Owned by `broker`.

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/thread_pool.hpp>
#include <filesystem>
#include <optional>

#include "base/notifier.h"
#include "broker/auth.h"
#include "broker/disk_space.h"
#include "broker/options.h"
#include "broker/schema_registry.h"
#include "broker/tenancy.h"
#include "storage/syncer.h"
#include "wire/topic_name.h"

namespace shfn::broker {

std::string random_run_id();  // 8 hex digits

// "pulsar://HOST:PORT" (pulsar+ssl:// with `tls`) for a listening or connected endpoint: an IPv6
// address in brackets, and an IPv4 address seen through a dual-stack socket (::ffff:a.b.c.d) as the
// IPv4 address, so every client can parse the URL and dial it.
std::string pulsar_url(const asio::ip::tcp::endpoint& endpoint, bool tls = false);

struct broker_context {
  asio::any_io_executor executor;
  broker_options options;
  storage::syncer syncer;
  // Broker-assigned producer names: "shfn-<run>-<n>". The run id differs between restarts, so
  // a new producer never inherits the deduplication state of an old one with the same name.
  std::string run_id = random_run_id();
  std::uint64_t next_producer_number = 0;
  std::string next_producer_name() {
    return "shfn-" + run_id + "-" + std::to_string(next_producer_number++);
  }
  // Where clients reach this broker, for lookups: pulsar://, and pulsar+ssl:// ("" without TLS).
  std::string service_url;
  std::string tls_service_url;
  tenancy tenants;          // tenants, namespaces and their policies (DATA/tenancy.json)
  schema_registry schemas;  // every topic's schema versions (DATA/schemas/)
  std::optional<token_authenticator> authenticator;  // set: every client must present a token
  disk_space disk;
  notifier disk_became_full;  // the broker's disk watch closes every producer, then waits for room
  // A write under the data directory failed: whether the disk is full (disk_space.h). The first
  // such failure wakes the disk watch.
  bool disk_full_after(const std::error_code& failure) {
    if (!disk_space::is_no_space(failure)) return false;
    if (disk.entered_full(failure)) disk_became_full.notify_all();
    return true;
  }
  // Topic compactions (compactor.h) run here, one at a time, off the executor. The last member,
  // so the first destroyed: a compaction under way finishes before anything else goes.
  asio::thread_pool compactions{1};
};

}  // namespace shfn::broker
