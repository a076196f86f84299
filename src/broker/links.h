#pragma once
// How topics and subscriptions talk back to client connections without knowing about sockets:
// a session (one client connection) implements both interfaces.

#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "pulsar_api.pb.h"
#include "wire/message_id.h"

namespace shfn::broker {

// A PRODUCER answered: at once, or later for a WaitForExclusive producer that was queued.
struct producer_success {
  std::uint64_t request_id = 0;
  std::string producer_name;
  std::int64_t last_sequence_id = -1;
  std::optional<std::uint64_t> topic_epoch;  // exclusive access modes
  bool ready = true;                         // false: queued behind an exclusive producer
};

class producer_link {
 public:
  virtual ~producer_link() = default;
  virtual void send_producer_success(std::uint64_t producer_id, const producer_success& s) = 0;
  virtual void send_receipt(std::uint64_t producer_id, std::uint64_t sequence_id,
                            std::uint64_t highest_sequence_id, const wire::message_id& id) = 0;
  virtual void send_error(std::uint64_t producer_id, std::uint64_t sequence_id,
                          wire::pb::ServerError error, const std::string& message) = 0;
  // The broker closes the producer (topic deleted, fenced by an exclusive producer).
  virtual void send_close_producer(std::uint64_t producer_id) = 0;
};

class consumer_link {
 public:
  virtual ~consumer_link() = default;
  // `entry` is the stored checksummed section: [metadata_size][metadata][payload]. The link
  // takes it over, so a large entry can be written to the socket without another copy.
  virtual void send_message(std::uint64_t consumer_id, const wire::message_id& id,
                            std::uint32_t redelivery_count, bytes entry) = 0;
  virtual void send_active_consumer_change(std::uint64_t consumer_id, bool active) = 0;
  // The broker closes the consumer (topic deleted, subscription reset by a seek); the client
  // subscribes again.
  virtual void send_close_consumer(std::uint64_t consumer_id) = 0;
  // The topic is terminated and the consumer has been sent everything in it.
  virtual void send_reached_end_of_topic(std::uint64_t consumer_id) = 0;
};

}  // namespace shfn::broker
