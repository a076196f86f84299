#include "client/client.h"

#include "client/consumer.h"
#include "client/errc.h"
#include "client/producer.h"
#include "wire/topic_name.h"

namespace shfn::client {

using asio::awaitable;

client::client(asio::any_io_executor ex, client_options options)
    : executor_(ex), options_(std::move(options)) {}

client::~client() {
  close();
}

result<std::unique_ptr<client>> client::create(asio::any_io_executor ex, client_options options) {
  auto service = parse_service_url(options.service_url);
  if (!service) return fail(service.error());
  std::unique_ptr<client> c(new client(ex, std::move(options)));
  if (service->front().tls) {
    c->tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    std::error_code ec;
    if (c->options_.tls_trust_certs.empty()) {
      c->tls_->set_default_verify_paths(ec);
    } else {
      c->tls_->load_verify_file(c->options_.tls_trust_certs, ec);
    }
    if (ec) return fail(errc::tls_failed);
  }
  c->pool_ = std::make_unique<connection_pool>(c->options_, std::move(*service), c->tls_.get());
  return c;
}

awaitable<result<std::unique_ptr<producer>>> client::create_producer(producer_options options) {
  auto topic = wire::parse_topic_name(options.topic);
  if (!topic) co_return fail(topic.error());
  std::string full_name = topic->str();
  options.topic = full_name;
  auto partitions = co_await pool_->partitions(full_name);
  if (!partitions) co_return fail(partitions.error());
  auto p = std::make_unique<producer>(*this, std::move(options), full_name, *partitions);
  if (auto ok = co_await p->start(); !ok) co_return fail(ok.error());
  co_return p;
}

awaitable<result<std::unique_ptr<consumer>>> client::subscribe(consumer_options options) {
  auto topic = wire::parse_topic_name(options.topic);
  if (!topic) co_return fail(topic.error());
  std::string full_name = topic->str();
  options.topic = full_name;
  auto partitions = co_await pool_->partitions(full_name);
  if (!partitions) co_return fail(partitions.error());
  auto c = std::make_unique<consumer>(*this, std::move(options), *partitions);
  if (auto ok = co_await c->start(); !ok) co_return fail(ok.error());
  co_return c;
}

awaitable<result<std::vector<std::string>>> client::get_topics_of_namespace(std::string ns,
                                                                            topic_mode mode) {
  using request = wire::pb::CommandGetTopicsOfNamespace;
  const request::Mode wire_mode = mode == topic_mode::persistent       ? request::PERSISTENT
                                  : mode == topic_mode::non_persistent ? request::NON_PERSISTENT
                                                                       : request::ALL;
  co_return co_await pool_->topics_of_namespace(std::move(ns), wire_mode);
}

void client::close() {
  if (pool_) pool_->close_all();
}

}  // namespace shfn::client
