// The HTTP client over real sockets on 127.0.0.1, port 0: against the project's own http_server
// for ordinary replies, and against a scripted server (a raw acceptor that reads a request and
// writes whatever bytes a test gives it) for the awkward ones. Servers and client share one
// io_context thread; the test waits for each post() through a future.

#include "http/http_client.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/error.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/http.h"
#include "http/server.h"

namespace shfn::http {
namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

const tcp::endpoint loopback_any_port{asio::ip::make_address("127.0.0.1"), 0};

// What the scripted server does with one connection, in the order connections arrive.
struct scripted_reply {
  std::string send;          // written once the request (head and body) has been read
  bool close = true;         // false: stay silent with the connection open until the test ends
  bool read_request = true;  // false: never read (and never answer) anything
  bool speak_first = false;  // send at once, without reading (as a server of another protocol)
};

// A raw acceptor that answers each connection with the next scripted_reply and records the
// requests it read, byte for byte. Lives on the io_context thread.
class scripted_server {
 public:
  scripted_server(asio::io_context& io, std::vector<scripted_reply> replies)
      : state_(std::make_shared<state>(io, std::move(replies))) {
    state_->acceptor.open(tcp::v4());
    state_->acceptor.bind(loopback_any_port);
    state_->acceptor.listen();
    asio::co_spawn(io, serve(state_), asio::detached);
  }

  std::string url(const std::string& target = "/") const {
    return "http://127.0.0.1:" + std::to_string(port()) + target;
  }
  std::uint16_t port() const { return state_->acceptor.local_endpoint().port(); }
  // Read once the post() that caused them returned: the server records a request before it
  // answers it.
  const std::vector<std::string>& requests() const { return state_->requests; }

  void stop() {
    std::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& s : state_->open) s->close(ignored);
  }

 private:
  struct state {
    state(asio::io_context& io, std::vector<scripted_reply> r)
        : acceptor(io), replies(std::move(r)) {}
    tcp::acceptor acceptor;
    std::vector<scripted_reply> replies;
    std::vector<std::string> requests;
    std::vector<std::shared_ptr<tcp::socket>> open;
  };

  static asio::awaitable<std::string> read_request(std::shared_ptr<tcp::socket> socket) {
    std::string in;
    std::array<char, 4096> chunk{};
    std::error_code ec;
    std::size_t head_end = std::string::npos;
    while ((head_end = find_head_end(in)) == std::string::npos) {
      const std::size_t n = co_await socket->async_read_some(
          asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return in;
      in.append(chunk.data(), n);
    }
    auto head = parse_request_head(std::string_view(in).substr(0, head_end),
                                   {.max_head = 1 << 20, .max_body = 1 << 30});
    const std::size_t length = head ? head->content_length : 0;
    while (in.size() < head_end + length) {
      const std::size_t n = co_await socket->async_read_some(
          asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      in.append(chunk.data(), n);
    }
    co_return in;
  }

  static asio::awaitable<void> serve(std::shared_ptr<state> s) {
    for (const scripted_reply& reply : s->replies) {
      std::error_code ec;
      auto socket = std::make_shared<tcp::socket>(
          co_await s->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec)));
      if (ec) co_return;
      s->open.push_back(socket);
      if (!reply.read_request) continue;
      if (!reply.speak_first) s->requests.push_back(co_await read_request(socket));
      co_await asio::async_write(*socket, asio::buffer(reply.send),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (reply.close) {
        socket->shutdown(tcp::socket::shutdown_both, ec);
        socket->close(ec);
      }
    }
  }

  std::shared_ptr<state> state_;
};

class http_client_test : public ::testing::Test {
 protected:
  void SetUp() override {
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    on_io([this] {
      if (server_) server_->stop();
      for (auto& s : scripted_) s->stop();
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // Runs `f` on the io thread and waits for it.
  void on_io(const std::function<void()>& f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  // http_server on `at`; false when it cannot bind (no IPv6, say).
  bool start_server(tcp::endpoint at = loopback_any_port) {
    bool started = false;
    on_io([&] {
      auto s = http_server::start(io_.get_executor(), at, handle_);
      if (!s) return;
      server_ = std::move(*s);
      started = true;
    });
    return started;
  }

  scripted_server& script(std::vector<scripted_reply> replies) {
    on_io([&] { scripted_.push_back(std::make_unique<scripted_server>(io_, std::move(replies))); });
    return *scripted_.back();
  }

  result<http_reply> post_to(const std::string& url, header_fields headers = {},
                             std::string body = "", http_client_limits limits = {}) {
    auto parsed = parse_http_url(url);
    if (!parsed) return fail(parsed.error());
    return asio::co_spawn(io_, post(*parsed, std::move(headers), std::move(body), limits),
                          asio::use_future)
        .get();
  }

  // /empty: 202 without a body; anything else: what was asked, as JSON.
  const http_server::handler handle_ = [](const http_request& r) -> http_response {
    if (r.path == std::vector<std::string>{"empty"}) return {.status = 202, .body = ""};
    const auto field = [&r](const std::string& name) {
      auto it = r.fields.find(name);
      return it == r.fields.end() ? std::string("(none)") : it->second;
    };
    const nlohmann::json echo = {{"method", r.method},      {"target", r.target},
                                 {"host", field("host")},   {"connection", field("connection")},
                                 {"ce-id", field("ce-id")}, {"content-type", field("content-type")},
                                 {"body", r.body}};
    return {.status = 200, .body = echo.dump()};
  };

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::thread thread_;
  std::unique_ptr<http_server> server_;
  std::vector<std::unique_ptr<scripted_server>> scripted_;
};

TEST(http_url, urls_are_parsed) {
  auto u = parse_http_url("http://example.com:8080/a/b%20c?x=1&y=2#frag");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/a/b%20c?x=1&y=2");
  EXPECT_EQ(u->host_header(), "example.com:8080");
  EXPECT_EQ(u->str(), "http://example.com:8080/a/b%20c?x=1&y=2");

  auto plain = parse_http_url("HTTP://svc.default.svc.cluster.local");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->target, "/");
  EXPECT_EQ(plain->host_header(), "svc.default.svc.cluster.local");
  EXPECT_EQ(parse_http_url("http://h?q=1")->target, "/?q=1");
  EXPECT_EQ(parse_http_url("http://h:/p")->port, 80);

  auto v6 = parse_http_url("http://[::1]:9000/hook");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header(), "[::1]:9000");
  EXPECT_EQ(parse_http_url("http://[fe80::1]")->host_header(), "[fe80::1]");
}

TEST(http_url, https_urls_default_to_port_443) {
  auto u = parse_http_url("HTTPS://sink.example/hook");
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->host_header(), "sink.example");
  EXPECT_EQ(u->str(), "https://sink.example/hook");
  EXPECT_EQ(parse_http_url("https://sink.example:80/")->host_header(), "sink.example:80");
  EXPECT_FALSE(parse_http_url("http://sink.example/")->https);
}

TEST(http_url, ca_certs_must_be_pem) {
  auto bad = client_tls_context("not a certificate");
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(bad.error().starts_with("CACerts: not a PEM certificate: ")) << bad.error();
  EXPECT_TRUE(client_tls_context().has_value());  // the system's CAs
}

TEST(http_url, bad_urls_are_refused_with_a_reason) {
  for (const char* bad :
       {"example.com/path", "ftp://example.com/", "http://", "http:///path", "http://:80/",
        "http://host:0/", "http://host:65536/", "http://host:8o/", "http://user@host/",
        "http://ho st/", "http://host/a b", "http://host/\x01", "http://[::1/", "http://[nope]/",
        "http://[::1]x/", "http://a:b:c/"}) {
    auto r = parse_http_url(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error(), errc::invalid_url) << bad;
  }
}

TEST(http_status, statuses_are_classified_as_knative_does) {
  for (int s : {200, 201, 202, 204, 299}) EXPECT_EQ(classify(s), status_class::success) << s;
  for (int s : {408, 429, 500, 502, 503, 504, 599}) {
    EXPECT_EQ(classify(s), status_class::retryable) << s;
  }
  for (int s : {100, 301, 304, 400, 401, 403, 404, 409, 410, 413, 422, 600}) {
    EXPECT_EQ(classify(s), status_class::permanent) << s;
  }
}

TEST(http_status, errors_say_whether_a_retry_can_help) {
  EXPECT_FALSE(is_retryable(errc::invalid_url));
  EXPECT_FALSE(is_retryable(errc::invalid_request_header));
  for (errc e : {errc::timeout_connecting, errc::timeout_sending, errc::timeout_receiving,
                 errc::connection_closed, errc::malformed_response, errc::response_head_too_large,
                 errc::response_body_too_large, errc::unsupported_transfer_coding}) {
    EXPECT_TRUE(is_retryable(e)) << make_error_code(e).message();
  }
  EXPECT_TRUE(is_retryable(asio::error::connection_refused));
  EXPECT_FALSE(is_retryable(std::error_code{}));
}

TEST_F(http_client_test, posts_to_the_project_server) {
  ASSERT_TRUE(start_server());
  const std::string base = server_->url();
  auto r = post_to(base + "/sink?x=1", {{"ce-id", "42"}, {"Content-Type", "application/json"}},
                   R"({"message": "hi"})");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(classify(r->status), status_class::success);
  EXPECT_EQ(r->field("content-type"), "application/json");
  const auto echo = nlohmann::json::parse(r->body);
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["target"], "/sink?x=1");
  EXPECT_EQ(echo["host"], "127.0.0.1:" + std::to_string(server_->endpoint().port()));
  EXPECT_EQ(echo["connection"], "close");
  EXPECT_EQ(echo["ce-id"], "42");
  EXPECT_EQ(echo["content-type"], "application/json");
  EXPECT_EQ(echo["body"], R"({"message": "hi"})");

  auto empty = post_to(base + "/empty", {}, "x");
  ASSERT_TRUE(empty.has_value()) << empty.error().message();
  EXPECT_EQ(empty->status, 202);
  EXPECT_EQ(empty->body, "");
}

TEST_F(http_client_test, host_names_are_resolved) {
  ASSERT_TRUE(start_server());
  const std::string port = std::to_string(server_->endpoint().port());
  auto r = post_to("http://localhost:" + port + "/named", {}, "hello");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const auto echo = nlohmann::json::parse(r->body);
  EXPECT_EQ(echo["host"], "localhost:" + port);
  EXPECT_EQ(echo["body"], "hello");

  // No such name (".invalid" never resolves): an error a later attempt might not see.
  auto unknown = post_to("http://no-such-host.invalid/", {}, "", {.timeout = 10s});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_TRUE(is_retryable(unknown.error())) << unknown.error().message();
}

TEST_F(http_client_test, ipv6_literals_are_reached) {
  if (!start_server(tcp::endpoint(asio::ip::make_address("::1"), 0))) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  const std::string port = std::to_string(server_->endpoint().port());
  auto r = post_to("http://[::1]:" + port + "/v6", {}, "six");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const auto echo = nlohmann::json::parse(r->body);
  EXPECT_EQ(echo["host"], "[::1]:" + port);
  EXPECT_EQ(echo["body"], "six");
}

TEST_F(http_client_test, the_request_is_what_the_server_reads) {
  auto& server = script({{.send = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}});
  auto r = post_to(server.url("/p?q=1"), {{"ce-id", "1"}, {"ce-type", "t"}}, "hi");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0],
            "POST /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server.port()) +
                "\r\nce-id: 1\r\nce-type: t\r\nContent-Length: 2\r\n"
                "Connection: close\r\n\r\nhi");
}

TEST_F(http_client_test, headers_the_client_owns_or_cannot_send_are_refused) {
  auto& server = script({});
  for (const header_fields& bad : std::vector<header_fields>{{{"Content-Length", "5"}},
                                                             {{"host", "elsewhere"}},
                                                             {{"Transfer-Encoding", "chunked"}},
                                                             {{"Connection", "keep-alive"}},
                                                             {{"bad name", "x"}},
                                                             {{"", "x"}},
                                                             {{"x-split", "a\r\nInjected: 1"}}}) {
    auto r = post_to(server.url(), bad, "body");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::invalid_request_header) << bad[0].first;
    EXPECT_FALSE(is_retryable(r.error()));
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(http_client_test, chunked_replies_are_read_without_waiting_for_the_close) {
  auto& server = script({{.send = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                  "ce-id: r1\r\n\r\n4\r\nwiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n",
                          .close = false}});
  auto r = post_to(server.url(), {}, "", {.timeout = 30s});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->body, "wikipedia");
  EXPECT_EQ(r->field("ce-id"), "r1");
}

TEST_F(http_client_test, a_server_that_closes_mid_body) {
  auto& server = script({{.send = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"}});
  auto r = post_to(server.url(), {}, "x");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::connection_closed);
  EXPECT_TRUE(is_retryable(r.error()));
}

TEST_F(http_client_test, a_server_that_never_answers_times_out_receiving) {
  auto& server =
      script({{.send = "", .close = false},
              {.send = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", .close = false}});
  auto silent = post_to(server.url(), {}, "x", {.timeout = 300ms});
  ASSERT_FALSE(silent.has_value());
  EXPECT_EQ(silent.error(), errc::timeout_receiving);
  EXPECT_EQ(silent.error().message(), "timed out waiting for the HTTP response");
  EXPECT_TRUE(is_retryable(silent.error()));
  auto stalled = post_to(server.url(), {}, "x", {.timeout = 300ms});
  ASSERT_FALSE(stalled.has_value());
  EXPECT_EQ(stalled.error(), errc::timeout_receiving);
}

TEST_F(http_client_test, a_server_that_never_reads_times_out_sending) {
  auto& server = script({{.close = false, .read_request = false}});
  // Far more than the socket buffers of both ends hold.
  auto r = post_to(server.url(), {}, std::string(64 << 20, 'x'), {.timeout = 500ms});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::timeout_sending);
}

TEST_F(http_client_test, a_full_accept_queue_times_out_connecting) {
  // A listener with a backlog of 0 that never accepts: once one connection waits in its queue,
  // the kernel drops further SYNs and connect() hangs.
  asio::io_context other;
  tcp::acceptor listener(other, loopback_any_port.protocol());
  listener.bind(loopback_any_port);
  listener.listen(0);
  tcp::socket filler(other);
  filler.connect(listener.local_endpoint());
  const std::string url = "http://127.0.0.1:" + std::to_string(listener.local_endpoint().port());
  auto r = post_to(url, {}, "x", {.timeout = 300ms});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::timeout_connecting);
  EXPECT_EQ(r.error().message(), "timed out connecting to the HTTP server");
}

TEST_F(http_client_test, a_500_then_a_200) {
  auto& server = script({{.send = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 17\r\n"
                                  "\r\n{\"reason\":\"boom\"}"},
                         {.send = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                  "Content-Length: 2\r\n\r\nok"}});
  auto first = post_to(server.url(), {{"ce-id", "7"}}, "event");
  ASSERT_TRUE(first.has_value()) << first.error().message();
  EXPECT_EQ(first->status, 500);
  EXPECT_EQ(classify(first->status), status_class::retryable);
  EXPECT_EQ(first->body, R"({"reason":"boom"})");
  auto second = post_to(server.url(), {{"ce-id", "7"}}, "event");
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "ok");
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[0], server.requests()[1]);
}

TEST_F(http_client_test, a_429_with_a_body) {
  auto& server = script({{.send = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n"
                                  "Content-Length: 9\r\n\r\nslow down"}});
  auto r = post_to(server.url(), {}, "x");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(classify(r->status), status_class::retryable);
  EXPECT_EQ(r->field("retry-after"), "3");
  EXPECT_EQ(r->body, "slow down");
}

TEST_F(http_client_test, an_empty_202_and_a_204_are_no_reply) {
  auto& server =
      script({{.send = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", .close = false},
              {.send = "HTTP/1.1 204 No Content\r\n\r\n", .close = false}});
  for (int status : {202, 204}) {
    auto r = post_to(server.url(), {}, "x", {.timeout = 30s});
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(classify(r->status), status_class::success);
    EXPECT_TRUE(r->body.empty());
  }
}

TEST_F(http_client_test, bodies_over_the_cap_are_refused) {
  const std::size_t cap = http_client_limits{}.max_body;
  EXPECT_EQ(cap, 5u << 20) << "the default is functions' maxOutputBytes";
  auto& server = script(
      {{.send = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(cap) + "\r\n\r\n" +
                std::string(cap, 'a')},
       {.send = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(cap + 1) + "\r\n\r\n"},
       {.send = "HTTP/1.1 200 OK\r\n\r\n" + std::string(cap + 1, 'b')},
       {.send = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                fmt::format("{:x}\r\n", cap + 1) + std::string(cap + 1, 'c') + "\r\n0\r\n\r\n"}});
  auto at_cap = post_to(server.url(), {}, "x");
  ASSERT_TRUE(at_cap.has_value()) << at_cap.error().message();
  EXPECT_EQ(at_cap->body.size(), cap);
  for (const char* how : {"declared", "close-delimited", "chunked"}) {
    auto r = post_to(server.url(), {}, "x");
    ASSERT_FALSE(r.has_value()) << how;
    EXPECT_EQ(r.error(), errc::response_body_too_large) << how;
  }
}

TEST_F(http_client_test, a_refused_connection_is_a_retryable_error) {
  std::uint16_t port = 0;
  {
    asio::io_context other;
    tcp::acceptor closed(other, loopback_any_port);
    port = closed.local_endpoint().port();
  }
  auto r = post_to("http://127.0.0.1:" + std::to_string(port) + "/", {}, "x");
  ASSERT_FALSE(r.has_value());
  // (Asio's own system category: compare with its constant, not std::errc.)
  EXPECT_EQ(r.error(), asio::error::connection_refused) << r.error().message();
  EXPECT_TRUE(is_retryable(r.error()));
}

// An https:// URL to a server that answers in plain HTTP: the handshake fails, for good.
TEST_F(http_client_test, https_to_a_plain_server_fails_the_handshake_for_good) {
  auto& server = script({{.send = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
                          .close = false,
                          .speak_first = true}});
  auto r = post_to("https://127.0.0.1:" + std::to_string(server.port()) + "/", {}, "x");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().category(), asio::error::get_ssl_category()) << r.error().message();
  EXPECT_FALSE(is_retryable(r.error()));
}

TEST_F(http_client_test, a_reply_that_is_not_http) {
  // The server keeps the connection open: the client must not wait for the deadline.
  auto& server =
      script({{.send = "SSH-2.0-OpenSSH_9.2\r\n", .close = false}, {.send = "hello there\n"}});
  auto ssh = post_to(server.url(), {}, "x", {.timeout = 60s});
  ASSERT_FALSE(ssh.has_value());
  EXPECT_EQ(ssh.error(), errc::malformed_response);
  EXPECT_TRUE(is_retryable(ssh.error()));
  auto text = post_to(server.url(), {}, "x");
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error(), errc::malformed_response);
}

}  // namespace
}  // namespace shfn::http
