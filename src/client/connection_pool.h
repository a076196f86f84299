#pragma once
// Connections by broker address, and topic lookup over them.
//
// One connection per broker is shared by all producers and consumers there; concurrent requests
// for the same broker wait for a single connect. Lookup follows Pulsar's redirects until a broker
// answers "connect" for the topic (Connect / Redirect / Failed, with the authoritative flag).

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/connection.h"

namespace shfn::client {

class connection_pool {
 public:
  connection_pool(const client_options& options, std::vector<broker_address> service,
                  asio::ssl::context* tls);

  asio::awaitable<result<std::shared_ptr<connection>>> get(broker_address address);

  // The connection to the broker that owns `topic` (a full topic name).
  asio::awaitable<result<std::shared_ptr<connection>>> connection_for(std::string topic);

  // 0 for a non-partitioned topic.
  asio::awaitable<result<int>> partitions(std::string topic);

  // GET_TOPICS_OF_NAMESPACE: the topics of `ns` ("tenant/namespace") as the broker lists them.
  // Any broker answers for any namespace, so no lookup is needed.
  asio::awaitable<result<std::vector<std::string>>> topics_of_namespace(
      std::string ns, wire::pb::CommandGetTopicsOfNamespace::Mode mode);

  void close_all();

 private:
  const broker_address& next_service_address();

  const client_options& options_;
  std::vector<broker_address> service_;
  std::size_t service_index_ = 0;
  asio::ssl::context* tls_;
  std::map<std::string, std::shared_ptr<connection>> connections_;
  std::set<std::string> connecting_;
  notifier connect_done_;
};

}  // namespace shfn::client
