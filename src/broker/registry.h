#pragma once
// The broker's topics by name: loaded on first use (auto-creation), plus partitioned-topic
// metadata. Loading is lazy so that start-up does not depend on how much data is on disk, and
// idle topics are unloaded (broker_options::idle_topic_unload, max_open_files), so that the
// descriptors and memory held depend on the topics in use, not on how many exist.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "broker/context.h"
#include "wire/topic_name.h"

namespace shfn::broker {

class topic;

class topic_registry {
 public:
  using clock = std::chrono::steady_clock;

  explicit topic_registry(broker_context& ctx);

  // Who asks for a topic that does not exist yet: a client (producer, consumer), which creates
  // it only where its namespace's autoTopicCreationOverride allows, or the admin API's create.
  enum class creation { automatic, requested };

  // The topic, loading or creating it. Refuses the base name of a partitioned topic, and a
  // topic in a tenant or namespace that does not exist (TopicNotFound, as Pulsar does).
  result<std::shared_ptr<topic>> get(std::string_view name, creation how = creation::automatic);
  // TopicNotFound unless the topic's namespace exists (tenancy.h).
  result<void> admits(const wire::topic_name& t) const;
  // Loaded, or with data on disk, or a partition of a partitioned topic.
  bool exists(const wire::topic_name& t) const;
  // 0 for a non-partitioned topic.
  result<int> partitions(std::string_view name) const;
  result<void> create_partitioned(std::string_view name, int partitions);
  // A partitioned topic gets more partitions (the caller checks that `partitions` is more).
  result<void> grow_partitioned(std::string_view name, int partitions);
  // Deletes a topic (every partition of a partitioned one), its data and its schemas.
  result<void> remove(std::string_view name);

  // Every topic with data on disk or loaded, by full name (partitions listed one by one).
  std::vector<std::string> list(std::string_view tenant, std::string_view ns) const;
  // The base names of a namespace's partitioned topics, sorted.
  std::vector<std::string> partitioned(bool persistent, std::string_view tenant,
                                       std::string_view ns) const;
  // A namespace's topics of one domain as Pulsar lists them (admin API, GET_TOPICS_OF_NAMESPACE),
  // sorted: every topic loaded or with data on disk (so persistent ones not loaded since a
  // restart too), and every partition of a partitioned topic, holding data yet or not.
  std::vector<std::string> list_domain(bool persistent, std::string_view tenant,
                                       std::string_view ns) const;
  const std::map<std::string, std::shared_ptr<topic>>& loaded() const { return topics_; }
  // The maintenance pass: consumed data is reclaimed and idle cursors' files are closed.
  void trim_all();
  // Pulsar's topic unload: the topic's clients are closed (they reconnect), and a loaded topic
  // that is then idle is unloaded, its files closed. False when it was not loaded.
  bool unload(const wire::topic_name& t);
  // Unloads the idle topics not used since `unused_since`; returns how many.
  std::size_t unload_idle(clock::time_point unused_since);
  std::size_t open_files_budget() const { return open_files_budget_; }
  void clear() { topics_.clear(); }

 private:
  // Unloads least recently used idle topics until one more fits in the budget (or none is idle).
  void make_room();
  bool auto_creation_allowed(const wire::topic_name& t) const;

  broker_context& ctx_;
  std::size_t open_files_budget_;
  std::map<std::string, std::shared_ptr<topic>> topics_;
};

}  // namespace shfn::broker
