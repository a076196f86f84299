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

namespace shfn::broker {

class topic;

class topic_registry {
 public:
  using clock = std::chrono::steady_clock;

  explicit topic_registry(broker_context& ctx);

  // The topic, loading or creating it. Refuses the base name of a partitioned topic.
  result<std::shared_ptr<topic>> get(std::string_view name);
  // 0 for a non-partitioned topic.
  result<int> partitions(std::string_view name) const;
  result<void> create_partitioned(std::string_view name, int partitions);
  // Deletes a topic (every partition of a partitioned one) and its data.
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
  // Unloads the idle topics not used since `unused_since`; returns how many.
  std::size_t unload_idle(clock::time_point unused_since);
  std::size_t open_files_budget() const { return open_files_budget_; }
  void clear() { topics_.clear(); }

 private:
  // Unloads least recently used idle topics until one more fits in the budget (or none is idle).
  void make_room();

  broker_context& ctx_;
  std::size_t open_files_budget_;
  std::map<std::string, std::shared_ptr<topic>> topics_;
};

}  // namespace shfn::broker
