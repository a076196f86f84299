#pragma once
// Options for the client, its producers and consumers; designated-initializer friendly.

#include <chrono>
#include <cstddef>
#include <string>

#include "pulsar_api.pb.h"

namespace shfn::client {

using namespace std::chrono_literals;

struct client_options {
  std::string service_url = "pulsar://127.0.0.1:6650";
  std::string auth_token;           // sent as auth method "token" when not empty
  std::string tls_trust_certs;      // CA bundle for pulsar+ssl://; empty = system default
  bool tls_allow_insecure = false;  // skip certificate and host verification
  std::chrono::milliseconds operation_timeout = 30s;
  std::chrono::milliseconds connect_timeout = 10s;
  std::chrono::milliseconds keepalive = 30s;
  std::chrono::milliseconds initial_backoff = 100ms;
  std::chrono::milliseconds max_backoff = 30s;
};

struct producer_options {
  std::string topic;
  std::string name;  // empty: the broker assigns one
  bool batching = false;
  int batching_max_messages = 1000;
  std::size_t batching_max_bytes = 128 * 1024;
  std::chrono::microseconds batching_max_delay = 1ms;
  wire::pb::CompressionType compression = wire::pb::NONE;
  std::size_t max_pending_messages = 1000;  // back-pressure bound across all partitions
  std::chrono::milliseconds send_timeout = 30s;
};

enum class subscription_type { exclusive, shared, failover, key_shared };
enum class initial_position { latest, earliest };

struct consumer_options {
  std::string topic;
  std::string subscription;
  subscription_type type = subscription_type::exclusive;
  initial_position position = initial_position::latest;
  std::string name;
  int receiver_queue_size = 1000;
  std::chrono::milliseconds ack_timeout = 0ms;  // 0: off
  std::chrono::milliseconds negative_ack_delay = 1min;
  // Dead-letter policy, as Pulsar's clients have it: a message redelivered more than
  // max_redeliver_count times goes to dead_letter_topic (default "<topic>-<sub>-DLQ") and is acked.
  int max_redeliver_count = 0;  // 0: no dead-letter topic
  std::string dead_letter_topic;
};

}  // namespace shfn::client
