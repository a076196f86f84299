#include "broker/broker.h"

#include <malloc.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <future>

#include "base/accept_failures.h"
#include "base/log.h"
#include "base/notifier.h"
#include "broker/admin.h"
#include "broker/session.h"
#include "broker/subscription.h"
#include "broker/topic.h"

namespace shfn::broker {

using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using namespace std::chrono_literals;

// How often a full disk's free space is read again.
constexpr auto disk_check_interval = 250ms;

namespace {

result<void> listen(asio::ip::tcp::acceptor* acceptor, const asio::ip::tcp::endpoint& at) {
  std::error_code ec;
  acceptor->open(at.protocol(), ec);
  if (!ec) acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(at, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec);
  return {};
}

}  // namespace

result<asio::ip::tcp::endpoint> parse_listen_address(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return fail(std::make_error_code(std::errc::invalid_argument));
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return fail(ec);
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) return fail(std::make_error_code(std::errc::invalid_argument));
  return asio::ip::tcp::endpoint(address, static_cast<unsigned short>(port));
}

broker::broker(asio::any_io_executor executor, const broker_options& options,
               storage::dir_lock lock)
    : lock_(std::move(lock)),
      ctx_{.executor = executor,
           .options = options,
           .syncer = storage::syncer({.min_interval = options.sync_interval}),
           .disk = disk_space(options.data_dir)},
      topics_(ctx_),
      acceptor_(executor),
      tls_acceptor_(executor),
      maintenance_timer_(executor),
      disk_timer_(executor) {}

result<std::unique_ptr<broker>> broker::start(asio::any_io_executor executor,
                                              broker_options options) {
  auto endpoint = parse_listen_address(options.listen);
  if (!endpoint) return fail(endpoint.error());
  std::optional<token_authenticator> authenticator;
  if (!options.token_secret_file.empty()) {
    auto loaded = token_authenticator::from_secret_file(options.token_secret_file);
    if (!loaded) {
      spdlog::error("cannot read the token secret key {}: {}", options.token_secret_file.string(),
                    loaded.error().message());
      return fail(loaded.error());
    }
    authenticator = std::move(*loaded);
  }
  auto lock = storage::dir_lock::acquire(options.data_dir);
  if (!lock) return fail(lock.error());
  auto tenants = tenancy::open(options.data_dir);
  if (!tenants) return fail(tenants.error());
  std::unique_ptr<broker> b(new broker(executor, options, std::move(*lock)));
  b->ctx_.tenants = std::move(*tenants);
  b->ctx_.schemas = schema_registry(options.data_dir);
  b->ctx_.disk.hold_reserve();
  b->ctx_.authenticator = std::move(authenticator);
  if (!options.tls_listen.empty() || !options.admin_tls.empty()) {
    auto tls = http::server_tls_context(options.tls);
    if (!tls) {
      spdlog::error("cannot serve TLS: {}", tls.error());
      return fail(std::make_error_code(std::errc::invalid_argument));
    }
    b->tls_ = std::move(*tls);
  }
  if (auto bound = listen(&b->acceptor_, *endpoint); !bound) return fail(bound.error());
  b->endpoint_ = b->acceptor_.local_endpoint();
  b->ctx_.service_url = b->service_url();
  if (auto ok = b->listen_tls(options.tls_listen); !ok) return fail(ok.error());
  if (auto ok = b->start_admin(); !ok) return fail(ok.error());
  asio::co_spawn(executor, b->accept_loop(&b->acceptor_, nullptr), asio::detached);
  if (b->tls_acceptor_.is_open()) {
    asio::co_spawn(executor, b->accept_loop(&b->tls_acceptor_, b->tls_.get()), asio::detached);
  }
  asio::co_spawn(executor, b->maintenance_loop(), asio::detached);
  asio::co_spawn(executor, b->disk_watch(), asio::detached);
  spdlog::info("broker listening on {} with data in {}", b->service_url(),
               b->ctx_.options.data_dir.string());
  return b;
}

result<void> broker::listen_tls(const std::string& at) {
  if (at.empty()) return {};
  auto endpoint = parse_listen_address(at);
  if (!endpoint) {
    spdlog::error("invalid TLS address \"{}\": {}", at, endpoint.error().message());
    return fail(endpoint.error());
  }
  if (auto bound = listen(&tls_acceptor_, *endpoint); !bound) {
    spdlog::error("cannot listen for TLS on {}: {}", at, bound.error().message());
    return bound;
  }
  ctx_.tls_service_url = pulsar_url(tls_acceptor_.local_endpoint(), /*tls=*/true);
  spdlog::info("broker listening on {}", ctx_.tls_service_url);
  return {};
}

result<void> broker::start_admin() {
  const broker_options& o = ctx_.options;
  if (!o.admin.empty()) {
    auto at = parse_listen_address(o.admin);
    if (!at) {
      spdlog::error("invalid admin API address \"{}\": {}", o.admin, at.error().message());
      return fail(at.error());
    }
    auto server = admin_server::start(*this, *at);
    if (!server) {
      spdlog::error("cannot serve the admin API on {}: {}", o.admin, server.error().message());
      return fail(server.error());
    }
    admin_ = std::move(*server);
  } else if (o.admin_in_process || !o.admin_tls.empty()) {
    admin_ = admin_server::start_in_process(*this);
  }
  if (o.admin_tls.empty()) return {};
  auto at = parse_listen_address(o.admin_tls);
  if (!at) {
    spdlog::error("invalid https admin API address \"{}\": {}", o.admin_tls, at.error().message());
    return fail(at.error());
  }
  if (auto served = admin_->serve_tls(*at, tls_); !served) {
    spdlog::error("cannot serve the admin API on {}: {}", o.admin_tls, served.error().message());
    return served;
  }
  return {};
}

std::string broker::admin_tls_url() const {
  return admin_ ? admin_->tls_url() : std::string();
}

broker::~broker() {
  stop();
}

std::string broker::service_url() const {
  return pulsar_url(endpoint_);
}

std::optional<asio::ip::tcp::endpoint> broker::admin_endpoint() const {
  if (!admin_) return std::nullopt;
  return admin_->endpoint();
}

std::string broker::admin_url() const {
  if (!advertised_admin_url_.empty()) return advertised_admin_url_;
  return admin_ ? admin_->url() : std::string();
}

result<void> broker::create_namespaces(
    const std::set<std::pair<std::string, std::string>>& namespaces) {
  auto& tenants = ctx_.tenants;
  for (const auto& [tenant, ns] : namespaces) {
    if (tenants.has_namespace(tenant, ns)) continue;
    if (tenants.tenant(tenant) == nullptr) {
      if (auto made = tenants.create_tenant(tenant, {}); !made) return made;
      spdlog::info("created tenant {}", tenant);
    }
    if (auto made = tenants.create_namespace(tenant, ns); !made) return made;
    spdlog::info("created namespace {}/{}", tenant, ns);
  }
  return {};
}

http::http_response broker::admin(const http::http_request& request) {
  if (!admin_) return http::error_response(404, "the embedded broker's admin API is off");
  return admin_->handle(request);
}

std::size_t broker::connection_count() const {
  return static_cast<std::size_t>(std::ranges::count_if(sessions_, [](const auto& w) {
    auto s = w.lock();
    return s && !s->closed();
  }));
}

std::uint64_t broker::backlog() const {
  std::uint64_t entries = 0;
  for (const auto& [name, t] : topics_.loaded()) {
    for (const auto& [sub_name, sub] : t->subscriptions()) entries += sub->backlog();
  }
  return entries;
}

awaitable<void> broker::accept_loop(asio::ip::tcp::acceptor* acceptor, asio::ssl::context* tls) {
  accept_failures failures("broker on " + (tls ? ctx_.tls_service_url : service_url()));
  while (!stopped_) {
    std::error_code ec;
    auto socket = co_await acceptor->async_accept(redirect_error(use_awaitable, ec));
    if (stopped_) break;
    if (ec) {
      co_await sleep_for(failures.failed(ec));
      continue;
    }
    failures.succeeded();
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    auto s = std::make_shared<session>(http::transport(std::move(socket), tls), topics_, ctx_);
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    sessions_.push_back(s);
    s->start();
  }
}

awaitable<void> broker::maintenance_loop() {
  while (!stopped_) {
    maintenance_timer_.expires_after(ctx_.options.trim_interval);
    std::error_code ec;
    co_await maintenance_timer_.async_wait(redirect_error(use_awaitable, ec));
    if (stopped_) break;
    topics_.trim_all();
    for (const auto& [name, t] : topics_.loaded()) t->compact_if_over_threshold();
    topics_.unload_idle(topic_registry::clock::now() - ctx_.options.idle_topic_unload);
    // What closed connections and unloaded topics freed goes back to the system: glibc keeps
    // freed memory below the top of its heap otherwise, so RSS would stay at its peak.
    ::malloc_trim(0);
  }
}

// A full disk (disk_space.h): every producer is closed at once, not only those whose next write
// fails, then the free space is read every disk_check_interval until writing can resume.
awaitable<void> broker::disk_watch() {
  while (!stopped_) {
    if (!ctx_.disk.full()) {
      co_await ctx_.disk_became_full.wait();
      continue;
    }
    for (const auto& [name, t] : topics_.loaded()) {
      if (t->persistent()) t->close_producers();
    }
    while (!stopped_ && ctx_.disk.recheck()) {
      disk_timer_.expires_after(disk_check_interval);
      std::error_code ec;
      co_await disk_timer_.async_wait(redirect_error(use_awaitable, ec));
    }
  }
}

void broker::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (admin_) admin_->stop();
  std::error_code ignored;
  acceptor_.close(ignored);
  tls_acceptor_.close(ignored);
  maintenance_timer_.cancel();
  disk_timer_.cancel();
  ctx_.disk_became_full.notify_all();
  for (auto& w : sessions_) {
    if (auto s = w.lock()) s->close();
  }
  sessions_.clear();
  ctx_.syncer.stop();
  topics_.clear();
}

// ------------------------------------------------------------------------------ broker_thread

result<std::unique_ptr<broker_thread>> broker_thread::start(broker_options options) {
  std::unique_ptr<broker_thread> t(new broker_thread());
  auto b = broker::start(t->io_.get_executor(), std::move(options));
  if (!b) return fail(b.error());
  t->broker_ = std::move(*b);
  t->url_ = t->broker_->service_url();
  t->tls_url_ = t->broker_->tls_service_url();
  t->admin_url_ = t->broker_->admin_url();
  t->admin_tls_url_ = t->broker_->admin_tls_url();
  t->thread_ = std::thread([io = &t->io_] { io->run(); });
  return t;
}

namespace {

// Runs on the broker's thread (a coroutine, not a capturing lambda: its closure would have to
// outlive the coroutine).
awaitable<std::uint64_t> backlog_of(const broker* b) {
  co_return b->backlog();
}

}  // namespace

awaitable<std::uint64_t> broker_thread::backlog() {
  co_return co_await asio::co_spawn(io_, backlog_of(broker_.get()), asio::use_awaitable);
}

bool broker_thread::disk_full() const {
  return broker_->context().disk.full();
}

http::http_response broker_thread::admin(const http::http_request& request) {
  std::promise<http::http_response> answered;
  asio::post(io_, [this, &request, &answered] { answered.set_value(broker_->admin(request)); });
  return answered.get_future().get();
}

result<void> broker_thread::create_namespaces(
    const std::set<std::pair<std::string, std::string>>& namespaces) {
  std::promise<result<void>> done;
  asio::post(
      io_, [this, &namespaces, &done] { done.set_value(broker_->create_namespaces(namespaces)); });
  return done.get_future().get();
}

void broker_thread::advertise_admin_url(std::string url) {
  std::promise<void> done;
  asio::post(io_, [this, &url, &done] {
    broker_->advertise_admin_url(url);
    done.set_value();
  });
  done.get_future().wait();
  admin_url_ = std::move(url);
}

broker_thread::~broker_thread() {
  if (!thread_.joinable()) return;  // start() failed: there is no thread to stop
  std::promise<void> stopped;
  asio::post(io_, [this, &stopped] {
    broker_->stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  // With the listener, the connections and the timer closed, run() returns once the last
  // coroutines have unwound.
  thread_.join();
  broker_.reset();
}

}  // namespace shfn::broker
