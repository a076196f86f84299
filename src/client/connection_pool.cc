#include "client/connection_pool.h"

#include "base/log.h"
#include "client/errc.h"

namespace shfn::client {

namespace pb = wire::pb;
using asio::awaitable;

namespace {
constexpr int max_lookup_redirects = 20;
}

connection_pool::connection_pool(const client_options& options, std::vector<broker_address> service,
                                 asio::ssl::context* tls)
    : options_(options), service_(std::move(service)), tls_(tls) {}

const broker_address& connection_pool::next_service_address() {
  return service_[service_index_++ % service_.size()];
}

awaitable<result<std::shared_ptr<connection>>> connection_pool::get(broker_address address) {
  const std::string key = address.str();
  while (true) {
    if (auto it = connections_.find(key); it != connections_.end()) {
      if (it->second->is_open()) co_return it->second;
      connections_.erase(it);
    }
    if (!connecting_.contains(key)) break;
    co_await connect_done_.wait();
  }
  connecting_.insert(key);
  auto conn = co_await connection::open(std::move(address), &options_, tls_);
  connecting_.erase(key);
  connect_done_.notify_all();
  if (!conn) co_return fail(conn.error());
  connections_[key] = *conn;
  co_return *conn;
}

awaitable<result<std::shared_ptr<connection>>> connection_pool::connection_for(std::string topic) {
  auto conn = co_await get(next_service_address());
  if (!conn) co_return fail(conn.error());
  bool authoritative = false;
  for (int hop = 0; hop < max_lookup_redirects; ++hop) {
    pb::BaseCommand c;
    c.set_type(pb::BaseCommand::LOOKUP);
    const std::uint64_t request_id = (*conn)->next_request_id();
    auto* lookup = c.mutable_lookuptopic();
    lookup->set_topic(topic);
    lookup->set_request_id(request_id);
    lookup->set_authoritative(authoritative);
    auto response = co_await (*conn)->request(std::move(c), request_id);
    if (!response) co_return fail(response.error());
    if (response->type() != pb::BaseCommand::LOOKUP_RESPONSE)
      co_return fail(errc::unexpected_response);
    const auto& r = response->lookuptopicresponse();
    if (r.response() == pb::CommandLookupTopicResponse::Failed) {
      spdlog::debug("lookup of {} failed: {}", topic, r.message());
      co_return fail(r.has_error() ? server_error(r.error())
                                   : make_error_code(errc::lookup_failed));
    }
    if (r.proxy_through_service_url()) co_return conn;
    const std::string& url = options_.service_url.starts_with("pulsar+ssl://")
                                 ? r.brokerserviceurltls()
                                 : r.brokerserviceurl();
    auto target = parse_service_url(url);
    if (!target) co_return fail(errc::lookup_failed);
    auto next = co_await get(target->front());
    if (!next) co_return fail(next.error());
    conn = std::move(next);
    if (r.response() == pb::CommandLookupTopicResponse::Connect) co_return conn;
    authoritative = r.authoritative();
  }
  co_return fail(errc::too_many_redirects);
}

awaitable<result<int>> connection_pool::partitions(std::string topic) {
  auto conn = co_await get(next_service_address());
  if (!conn) co_return fail(conn.error());
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::PARTITIONED_METADATA);
  const std::uint64_t request_id = (*conn)->next_request_id();
  c.mutable_partitionmetadata()->set_topic(topic);
  c.mutable_partitionmetadata()->set_request_id(request_id);
  auto response = co_await (*conn)->request(std::move(c), request_id);
  if (!response) co_return fail(response.error());
  const auto& r = response->partitionmetadataresponse();
  if (r.response() == pb::CommandPartitionedTopicMetadataResponse::Failed) {
    co_return fail(r.has_error() ? server_error(r.error()) : make_error_code(errc::lookup_failed));
  }
  co_return static_cast<int>(r.partitions());
}

awaitable<result<std::vector<std::string>>> connection_pool::topics_of_namespace(
    std::string ns, pb::CommandGetTopicsOfNamespace::Mode mode) {
  auto conn = co_await get(next_service_address());
  if (!conn) co_return fail(conn.error());
  pb::BaseCommand c;
  c.set_type(pb::BaseCommand::GET_TOPICS_OF_NAMESPACE);
  const std::uint64_t request_id = (*conn)->next_request_id();
  auto* request = c.mutable_gettopicsofnamespace();
  request->set_request_id(request_id);
  request->set_namespace_(ns);
  request->set_mode(mode);
  auto response = co_await (*conn)->request(std::move(c), request_id);
  if (!response) co_return fail(response.error());
  if (response->type() != pb::BaseCommand::GET_TOPICS_OF_NAMESPACE_RESPONSE)
    co_return fail(errc::unexpected_response);
  const auto& topics = response->gettopicsofnamespaceresponse().topics();
  co_return std::vector<std::string>(topics.begin(), topics.end());
}

void connection_pool::close_all() {
  auto all = std::exchange(connections_, {});
  for (auto& [key, conn] : all) conn->close();
}

}  // namespace shfn::client
