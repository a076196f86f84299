#pragma once
// The Pulsar client: entry point for producers and consumers.
//
// Threading: a client and everything it creates run on one executor (typically a single-threaded
// io_context); call it only from coroutines on that executor. Close producers and consumers
// (co_await close()) before the client, and the client before its io_context stops.

#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "client/connection_pool.h"
#include "client/options.h"

namespace shfn::client {

class producer;
class consumer;

// Which domain get_topics_of_namespace lists (GET_TOPICS_OF_NAMESPACE's mode).
enum class topic_mode { persistent, non_persistent, all };

class client {
 public:
  // Fails on an invalid service URL or unreadable TLS trust file.
  static result<std::unique_ptr<client>> create(asio::any_io_executor ex, client_options options);
  ~client();

  // Options are taken by value, as every coroutine's arguments are here: pass a named object,
  // not a braced temporary (GCC 12 miscompiles aggregate temporaries passed into coroutines).
  asio::awaitable<result<std::unique_ptr<producer>>> create_producer(producer_options options);
  asio::awaitable<result<std::unique_ptr<consumer>>> subscribe(consumer_options options);
  // The topics of namespace `ns` ("tenant/namespace") that exist, by full name, as the broker
  // lists them (GET_TOPICS_OF_NAMESPACE): each partition of a partitioned topic on its own
  // ("...-partition-N"). What a regex subscription starts from; the caller does the matching.
  asio::awaitable<result<std::vector<std::string>>> get_topics_of_namespace(std::string ns,
                                                                            topic_mode mode);
  void close();

  // For producers and consumers.
  asio::any_io_executor executor() const { return executor_; }
  const client_options& options() const { return options_; }
  connection_pool& pool() { return *pool_; }
  std::uint64_t next_producer_id() { return next_producer_id_++; }
  std::uint64_t next_consumer_id() { return next_consumer_id_++; }

 private:
  client(asio::any_io_executor ex, client_options options);

  asio::any_io_executor executor_;
  client_options options_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::unique_ptr<connection_pool> pool_;
  std::uint64_t next_producer_id_ = 0;
  std::uint64_t next_consumer_id_ = 0;
};

}  // namespace shfn::client
