#pragma once
// One topic (or one partition of a partitioned topic): its log, its producers and its
// subscriptions.
//
// Publishing: SEND appends the entry (the frame's checksummed section, batch and all, as one
// entry) to the log, then asks the syncer for a group commit. The receipt goes out when the sync
// covering the entry reports back on the broker's executor; only then do subscriptions see the
// entry, so nothing a consumer got can vanish in a crash.
//
// Deduplication: per producer name the highest sequence id stored (and chunk, for a chunked
// message stored in part; publish_position.h) is known, rebuilt from the log when the topic
// loads. A SEND at or below it is answered without being stored again, so a producer resending
// after a reconnect does not create duplicates.
//
// Non-persistent topics have no log: a SEND is offered to the subscriptions at once and the
// receipt follows straight away.

#include <asio/any_io_executor.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "broker/compactor.h"
#include "broker/context.h"
#include "broker/links.h"
#include "broker/producer_access.h"
#include "broker/publish_position.h"
#include "broker/subscription.h"
#include "storage/cursor.h"
#include "storage/log.h"
#include "wire/frame.h"
#include "wire/topic_name.h"

namespace shfn::broker {

struct publish_request {
  std::weak_ptr<producer_link> link;
  std::uint64_t producer_id = 0;
  std::string producer_name;
  std::uint64_t sequence_id = 0;
  std::uint64_t highest_sequence_id = 0;
};

// A producer asking to publish, with its PRODUCER command's access mode and epoch.
struct producer_registration {
  std::string name;
  std::weak_ptr<producer_link> link;
  std::string address;  // the client's, host:port
  std::uint64_t producer_id = 0;
  std::uint64_t request_id = 0;
  wire::pb::ProducerAccessMode access = wire::pb::Shared;
  std::optional<std::uint64_t> topic_epoch;
};

struct topic_stats {
  std::uint64_t messages_in = 0;
  std::uint64_t bytes_in = 0;  // entries as stored (metadata and payload), as Pulsar counts
  std::uint64_t entries = 0;
};

// Pulsar's name for the subscription that marks how far a topic is compacted.
inline constexpr std::string_view compaction_subscription = "__compaction";

// The last compaction of a topic, as `topics compaction-status` and `topics stats` show it.
// Kept in memory, as Pulsar keeps it: a restart forgets it, not the compacted view.
struct compaction_record {
  enum class state { not_run, running, success, error } status = state::not_run;
  // Pulsar's name of the status: NOT_RUN, RUNNING, SUCCESS, ERROR.
  const char* status_name() const;
  std::string last_error;
  std::uint64_t removed = 0;  // messages the last successful compaction took out
  std::uint64_t succeeded_ms = 0;
  std::uint64_t failed_ms = 0;
  std::uint64_t duration_ms = 0;
};

// What the admin API's stats show of a producer.
struct publisher_info {
  std::string name;
  std::uint64_t producer_id = 0;
  std::string address;
  std::uint64_t connected_since_ms = 0;
};

class topic : public std::enable_shared_from_this<topic> {
 public:
  // Opens the topic's log (recovering it), its durable subscriptions and its dedup state.
  static result<std::shared_ptr<topic>> load(broker_context& ctx, const wire::topic_name& name);
  ~topic();

  const std::string& name() const { return full_name_; }
  const wire::topic_name& name_parts() const { return name_; }
  asio::any_io_executor executor() const { return ctx_.executor; }
  int partition() const { return name_.partition; }
  bool persistent() const { return log_ != nullptr; }
  // Every entry's ledger id. One log per topic, so one ledger: entry ids are log offsets.
  std::int64_t ledger_id() const { return 0; }

  // Producers, admitted by their access mode (producer_access.h). The answer carries the last
  // sequence id stored for the name (-1: none); a queued WaitForExclusive producer is answered
  // again through its link once it holds the topic.
  result<producer_success> add_producer(producer_registration r);
  void remove_producer(const std::string& producer_name);
  void publish(const wire::frame& send, publish_request request);
  // The disk is full (disk_space.h): every producer is closed; their clients re-create them.
  void close_producers();
  // Closes every producer and consumer, as a topic unload does: they reconnect and carry on,
  // their subscriptions kept; readers' subscriptions go, as they go with their last consumer.
  void disconnect_clients();
  // Calls `then` once every SEND received so far has been answered (receipt or error), as a
  // closing producer's CLOSE_PRODUCER must be: Pulsar's clients fail the sends still waiting
  // for a receipt when the close is answered, though they are stored.
  void after_pending_answers(std::function<void()> then);

  // Subscriptions.
  result<consumer*> subscribe(const wire::pb::CommandSubscribe& request, consumer_link* link,
                              subscription** joined);
  subscription* find_subscription(const std::string& name);
  // A durable subscription with no consumer yet, its cursor at `offset` (the admin API's
  // create-subscription). NotAllowedError when it exists.
  result<subscription*> add_subscription(const std::string& name, std::uint64_t offset);
  // A consumer leaves; a reader's subscription goes with its last consumer.
  void detach(subscription* sub, consumer* c);
  // Deletes the subscription and its cursor when `c` is its only consumer.
  result<void> unsubscribe(subscription* sub, consumer* c);
  // Refused while it has consumers. `name` by value: it outlives the subscription.
  result<void> delete_subscription(std::string name);

  // The log as subscriptions see it: only entries that are durable. `compacted`: as a
  // read_compacted subscription sees it, the compacted view below its horizon (where offsets
  // have gaps), the log from there on.
  result<std::vector<storage::entry>> read(std::uint64_t from, std::size_t max_entries,
                                           bool compacted = false) const;
  std::uint64_t start_offset(bool compacted = false) const;
  std::uint64_t end_offset() const;  // next offset to be assigned
  std::uint64_t durable_end() const { return durable_end_; }
  // `compacted`: as a read_compacted consumer sees the topic, the compacted view's last message
  // while nothing came after its horizon (as Pulsar answers it, so that such a reader's
  // has-message-available loop ends where the view does).
  wire::message_id last_message_id(bool compacted = false) const;
  result<std::uint64_t> offset_at_time(std::uint64_t publish_time) const;

  // Deletes whole segments every subscription has consumed (and, with a retention time, that
  // are older than it).
  void trim();
  // Terminates the topic, as Pulsar's `topics terminate`: it takes no more messages (producers
  // are closed; new ones, and SENDs already on their way, are refused with
  // TopicTerminatedError), and each consumer that has read everything is sent
  // REACHED_END_OF_TOPIC. Durable (storage::terminated_file). Answers the last message's id
  // (entry -1 for an empty topic); terminating again answers the same.
  result<wire::message_id> terminate();
  bool terminated() const { return terminated_; }

  // Compaction (compactor.h), as Pulsar's `topics compact`: the latest message per key, for
  // subscriptions that read compacted. Runs off the executor; the view is installed when it is
  // durable, and the `__compaction` subscription (as on Pulsar) then marks the horizon, keeping
  // what came after it for the next compaction. Refused while one runs, and on non-persistent
  // topics.
  result<void> compact();
  const compaction_record& compaction() const { return compaction_; }
  bool compacting() const { return compaction_.status == compaction_record::state::running; }
  // The compacted view in use; null when the topic was never compacted.
  const storage::compacted_log* compacted_view() const { return compacted_.get(); }
  // The namespace's compactionThreshold: compacts when more than that many bytes came after
  // the horizon (estimated, as Pulsar does). Called by the maintenance pass.
  void compact_if_over_threshold();

  // Closes producers and consumers and deletes the files. The topic is unusable afterwards.
  result<void> remove();

  const std::map<std::string, std::unique_ptr<subscription>>& subscriptions() const {
    return subscriptions_;
  }
  std::size_t producer_count() const { return producers_.size(); }
  const topic_stats& stats() const { return stats_; }
  // For the admin API's stats.
  std::vector<publisher_info> publishers() const {
    std::vector<publisher_info> out;
    for (const auto& [name, p] : producers_) {
      out.push_back({.name = name,
                     .producer_id = p.producer_id,
                     .address = p.address,
                     .connected_since_ms = p.connected_since_ms});
    }
    return out;
  }
  std::uint64_t storage_size() const { return log_ ? log_->size_bytes() : 0; }

  // Nothing attached and nothing pending: the topic can be unloaded (its files closed) and
  // loaded again from disk without anyone noticing. Not while an exclusive producer's epoch is
  // known: it lives in memory only, and a fenced producer must stay fenced.
  bool idle() const;
  // Whether a consumer that brings a schema must fit the topic's rather than give it one, as
  // Pulsar decides: the topic has producers, consumers with a schema of their own (not
  // AUTO_CONSUME), or data.
  bool in_use_for_schemas() const;
  // When the registry last handed the topic out: the least recently used idle ones go first.
  void touch() { last_used_ = std::chrono::steady_clock::now(); }
  std::chrono::steady_clock::time_point last_used() const { return last_used_; }
  std::size_t open_files() const;  // descriptors held: log segments and durable cursors
  // Closes the cursor files of subscriptions without consumers (a compaction may have kept
  // one open when its last consumer left).
  void release_idle_cursors();

  // Called on the executor when a group commit that covered up to `end` finished.
  void on_synced(result<std::uint64_t> end);

 private:
  struct producer_entry {
    std::weak_ptr<producer_link> link;
    std::uint64_t producer_id = 0;
    std::uint64_t request_id = 0;  // to answer a queued producer when it is promoted
    std::string address;
    std::uint64_t connected_since_ms = 0;
  };
  struct awaiting_sync {
    std::uint64_t offset = 0;  // answered once the log is durable past it
    publish_request request;
    bool duplicate = false;      // answered without an id: the entry was stored before
    std::function<void()> then;  // set: not a receipt, a call once everything before is answered
  };

  topic(broker_context& ctx, wire::topic_name name, std::shared_ptr<storage::log> log);
  result<void> load_subscriptions();
  result<void> load_compacted_view();
  result<void> rebuild_dedup_state();
  struct retention {
    std::optional<std::uint64_t> time_ms;  // consumed data older than this goes; none: no limit
    std::uint64_t bytes = UINT64_MAX;      // and while the log holds more than this
  };
  retention retention_policy() const;
  void expire();
  void publish_transient(const wire::frame& send, const publish_request& request);
  void answer_duplicate(const publish_request& request);
  void close_producer_on_full_disk(const std::string& producer_name);
  void fence(const std::vector<std::string>& names);
  void promote(const producer_access::promotion& p);
  std::int64_t last_sequence_of(const std::string& producer_name) const;
  void request_sync();
  void install_compaction(result<compaction_outcome> outcome, std::uint64_t started_ms);
  void mark_compaction_horizon(std::uint64_t horizon);
  wire::message_id last_compacted_message_id() const;
  std::optional<std::uint64_t> compaction_threshold() const;
  void keep_for_compaction();
  std::filesystem::path cursor_path(const std::string& subscription) const;
  std::filesystem::path reader_cursor_path(const std::string& subscription) const;
  std::uint64_t start_of(const wire::pb::CommandSubscribe& request) const;
  result<std::unique_ptr<subscription>> create_subscription(
      const wire::pb::CommandSubscribe& request);

  broker_context& ctx_;
  wire::topic_name name_;
  std::string full_name_;
  std::filesystem::path dir_;
  std::shared_ptr<storage::log> log_;  // null: non-persistent
  std::uint64_t durable_end_ = 0;
  std::uint64_t transient_sequence_ = 0;
  std::deque<awaiting_sync> awaiting_sync_;
  bool sync_requested_ = false;
  bool failed_ = false;      // the log could not be written or synced: refuse further sends
  bool terminated_ = false;  // `topics terminate`: refuse further sends, for good
  std::map<std::string, producer_entry> producers_;
  producer_access access_;
  std::map<std::string, publish_position> stored_up_to_;  // dedup, by producer name
  std::map<std::string, std::unique_ptr<subscription>> subscriptions_;
  topic_stats stats_;
  std::shared_ptr<const storage::compacted_log> compacted_;  // null: never compacted
  compaction_record compaction_;
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

}  // namespace shfn::broker
