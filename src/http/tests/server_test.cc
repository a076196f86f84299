// http_server over real sockets on 127.0.0.1, port 0, with a trivial handler: the server runs on
// an io_context thread, the test talks to it with a blocking client.

#include "http/server.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/tests/http_client.h"

namespace shfn::http {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using testing::http_client;
using testing::request;
using tcp = asio::ip::tcp;

const tcp::endpoint loopback_any_port{asio::ip::make_address("127.0.0.1"), 0};

class http_server_test : public ::testing::Test {
 protected:
  void TearDown() override {
    if (thread_.joinable()) {
      on_io([this] {
        if (server_) server_->stop();
      });
      thread_.join();  // run() returns once the accept loop and the connections have unwound
    }
    server_.reset();
  }

  void start(http_limits limits = {}) {
    auto s = http_server::start(io_.get_executor(), loopback_any_port, handle_, limits);
    ASSERT_TRUE(s.has_value()) << s.error().message();
    server_ = std::move(*s);
    at_ = server_->endpoint();
    thread_ = std::thread([this] { io_.run(); });
  }

  // Runs `f` on the server's thread and waits for it.
  void on_io(const std::function<void()>& f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  // GET /hello: "hello"; /echo: what was asked; /throw: an exception; else 404.
  const http_server::handler handle_ = [this](const http_request& r) -> http_response {
    ++calls_;
    if (r.path == std::vector<std::string>{"hello"}) {
      return {.status = 200, .content_type = "text/plain", .body = "hello"};
    }
    if (r.path == std::vector<std::string>{"echo"}) {
      return {.status = 200,
              .content_type = "text/plain",
              .body = r.method + " " + r.target + " " + r.body};
    }
    if (r.path == std::vector<std::string>{"throw"}) throw std::runtime_error("boom");
    return error_response(404, "not found");
  };

  asio::io_context io_{1};
  std::unique_ptr<http_server> server_;
  tcp::endpoint at_;
  std::thread thread_;
  std::atomic<int> calls_ = 0;
};

TEST_F(http_server_test, answers_with_the_handler) {
  start();
  EXPECT_NE(at_.port(), 0);
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(at_.port()));
  auto reply = request(at_, "GET", "/hello");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "hello");
  EXPECT_EQ(reply.field("content-type"), "text/plain");
  EXPECT_EQ(reply.field("connection"), "close");
  auto echoed = request(at_, "POST", "/echo?x=1", "payload");
  EXPECT_EQ(echoed.body, "POST /echo?x=1 payload");
  auto missing = request(at_, "GET", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body_json(), nlohmann::json({{"reason", "not found"}}));
}

// A slow handler takes the requests it wants and answers them after waiting (here, a timer);
// the rest go to the handler, and a connection's answers keep their order.
TEST_F(http_server_test, a_slow_handler_answers_after_waiting_and_in_order) {
  start();
  on_io([this] {
    server_->answer_later(
        [this](const http_request& r) -> std::optional<asio::awaitable<http_response>> {
          if (r.path != std::vector<std::string>{"slow"}) return std::nullopt;
          return [](asio::any_io_executor ex, std::string body) -> asio::awaitable<http_response> {
            asio::steady_timer wait(ex, 50ms);
            co_await wait.async_wait(asio::use_awaitable);
            co_return http_response{.content_type = "text/plain", .body = "slow " + body};
          }(io_.get_executor(), r.body);
        });
  });
  http_client c(at_);
  c.send(
      "POST /slow HTTP/1.1\r\nContent-Length: 2\r\n\r\nab"
      "GET /hello HTTP/1.1\r\n\r\n");
  auto first = c.read_reply();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "slow ab");
  auto second = c.read_reply();
  EXPECT_EQ(second.body, "hello");
  EXPECT_EQ(calls_, 1);  // the handler saw only /hello
}

TEST_F(http_server_test, keep_alive_and_pipelining) {
  start();
  http_client c(at_);
  // Three requests in one write, answered in order; blank lines between requests are tolerated.
  c.send(
      "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n\r\n"
      "PUT /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "GET /nope HTTP/1.1\r\n\r\n");
  auto first = c.read_reply();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "hello");
  EXPECT_EQ(first.field("connection"), "keep-alive");
  auto second = c.read_reply();
  EXPECT_EQ(second.body, "PUT /echo abc");
  EXPECT_EQ(second.field("connection"), "keep-alive");
  EXPECT_EQ(c.read_reply().status, 404) << "an error the handler answers keeps the connection";
  // A request split over several writes.
  c.send("GET /ec");
  c.send("ho HTTP/1.1\r\nContent-Le");
  c.send("ngth: 2\r\n\r\nx");
  c.send("y");
  EXPECT_EQ(c.read_reply().body, "GET /echo xy");
  c.send("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  auto last = c.read_reply();
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(last.field("connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(calls_, 5);
}

TEST_F(http_server_test, malformed_requests_get_400_and_close) {
  start();
  const std::vector<std::string> garbage_inputs = {
      "HELLO THERE\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n"s,
      "GET /hello HTTP/1.1\r\nno colon here\r\n\r\n",
      "GET /hello HTTP/1.1\r\n folded: line\r\n\r\n",
      "GET /hello HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n",
      "GET /hello HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET hello HTTP/1.1\r\n\r\n",
      "GET /%zz HTTP/1.1\r\n\r\n",
      "GET  /hello HTTP/1.1\r\n\r\n"};
  for (const std::string& garbage : garbage_inputs) {
    http_client c(at_);
    c.send(garbage);
    auto reply = c.read_reply();
    EXPECT_EQ(reply.status, 400) << garbage;
    EXPECT_EQ(reply.field("connection"), "close");
    EXPECT_EQ(reply.body_json(), nlohmann::json({{"reason", "malformed HTTP request"}}));
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    // After a good request on the same connection, too: the good one is answered first.
    http_client c(at_);
    c.send("GET /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\nBad Name: x\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 200);
    EXPECT_EQ(c.read_reply().status, 400);
    EXPECT_TRUE(c.closed_by_server());
  }
  EXPECT_EQ(calls_, 1) << "the handler never sees a malformed request";
  EXPECT_EQ(request(at_, "GET", "/hello").status, 200);
}

TEST_F(http_server_test, unsupported_versions_and_encodings) {
  start();
  {
    http_client c(at_);
    c.send("GET /hello HTTP/2.0\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 505);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    http_client c(at_);
    c.send("PUT /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 501);
    EXPECT_TRUE(c.closed_by_server());
  }
}

TEST_F(http_server_test, oversized_requests_are_refused) {
  start({.max_head = 1024, .max_body = 4096});
  {
    // The answer arrives although the client is still sending the body it announced.
    http_client c(at_);
    c.send("PUT /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
    c.send(std::string(64 << 10, '7'));
    auto reply = c.read_reply();
    EXPECT_EQ(reply.status, 413);
    EXPECT_TRUE(reply.body_json().contains("reason"));
    c.finish_sending();
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    http_client c(at_);
    c.send("GET /hello HTTP/1.1\r\nX-Filler: " + std::string(2000, 'a') + "\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 431);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    // A head that never ends: refused once it is past the limit, not read forever.
    http_client c(at_);
    c.send("GET /hello HTTP/1.1\r\nX-Filler: " + std::string(3000, 'a'));
    EXPECT_EQ(c.read_reply().status, 431);
  }
  {
    // Just at the limits is fine.
    http_client c(at_);
    const std::string body(4096, 'b');
    std::string head = "PUT /echo HTTP/1.1\r\nContent-Length: 4096\r\nX: ";
    head += std::string(1024 - head.size() - 4, 'h') + "\r\n\r\n";
    ASSERT_EQ(head.size(), 1024u);
    c.send(head + body);
    auto reply = c.read_reply();
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "PUT /echo " + body);
  }
  EXPECT_EQ(calls_, 1);
}

TEST_F(http_server_test, http_1_0_closes_unless_asked_to_keep_alive) {
  start();
  {
    http_client c(at_);
    c.send("GET /hello HTTP/1.0\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 200);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    http_client c(at_);
    c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(c.read_reply().field("connection"), "keep-alive");
    c.send("GET /hello HTTP/1.0\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 200);
    EXPECT_TRUE(c.closed_by_server());
  }
}

TEST_F(http_server_test, expect_continue_is_answered_before_the_body) {
  start();
  http_client c(at_);
  c.send("PUT /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(c.read_reply().status, 100);
  c.send("ok");
  auto reply = c.read_reply();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "PUT /echo ok");
  // No interim answer when the body came with the head.
  c.send("PUT /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz");
  EXPECT_EQ(c.read_reply().status, 200);
}

TEST_F(http_server_test, a_handler_that_throws_is_a_500) {
  start();
  http_client c(at_);
  c.send("GET /throw HTTP/1.1\r\n\r\n");
  auto reply = c.read_reply();
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.body_json(), nlohmann::json({{"reason", "internal error: boom"}}));
  c.send("GET /hello HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.read_reply().status, 200) << "the connection survives";
}

TEST_F(http_server_test, idle_connections_are_closed) {
  start({.idle_timeout = 200ms, .head_timeout = 200ms});
  {
    http_client c(at_);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    http_client c(at_);
    c.send("GET /hello HTTP/1.1\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 200);
    EXPECT_TRUE(c.closed_by_server()) << "idle after an answer";
  }
  {
    http_client c(at_);
    c.send("GET /hello HTTP/1.1\r\n");  // a head that stops arriving
    EXPECT_TRUE(c.closed_by_server());
  }
  EXPECT_EQ(request(at_, "GET", "/hello").status, 200);
}

// A client that trickles its header fields (slowloris) is cut off once the head has taken
// head_timeout, long before the idle timeout.
TEST_F(http_server_test, a_head_that_trickles_in_is_cut_off) {
  start({.idle_timeout = 60s, .head_timeout = 200ms});
  http_client c(at_);
  bool cut_off = !c.send("GET /hello HTTP/1.1\r\n");
  for (int i = 0; i < 200 && !cut_off; ++i) {  // one header field every 50 ms, for up to 10 s
    std::this_thread::sleep_for(50ms);
    cut_off = !c.send("X-Slow-" + std::to_string(i) + ": y\r\n");
  }
  EXPECT_TRUE(cut_off) << "the server still reads a head after 10 s";
  EXPECT_EQ(request(at_, "GET", "/hello").status, 200);
}

// One client address cannot take every connection (and so every descriptor) of the process.
TEST_F(http_server_test, connections_per_address_are_capped) {
  start({.max_connections_per_address = 3});
  std::vector<std::unique_ptr<http_client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<http_client>(at_));
    held.back()->send("GET /hello HTTP/1.1\r\n\r\n");
    EXPECT_EQ(held.back()->read_reply().status, 200);  // accepted and served
  }
  http_client extra(at_);
  extra.send("GET /hello HTTP/1.1\r\n\r\n");
  EXPECT_EQ(extra.read_reply().status, 0) << "a fourth connection from the same address is closed";
  held.pop_back();
  // The server notices the close when it reads; ask until a new connection is served.
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) status = request(at_, "GET", "/hello").status;
  EXPECT_EQ(status, 200) << "room again once one is closed";
}

TEST_F(http_server_test, stop_closes_the_listener_and_every_connection) {
  start();
  http_client idle(at_);
  http_client half(at_);
  idle.send("GET /hello HTTP/1.1\r\n\r\n");
  EXPECT_EQ(idle.read_reply().status, 200);
  half.send("PUT /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");  // 7 bytes missing
  // Connections are accepted in order: once a later one is answered, both are accepted.
  EXPECT_EQ(request(at_, "GET", "/hello").status, 200);
  // Destroyed right after stop(), while the executor still runs the unwinding coroutines.
  on_io([this] {
    server_->stop();
    server_.reset();
  });
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_TRUE(half.closed_by_server());
  EXPECT_EQ(calls_, 2) << "the half-sent request is not answered";
  asio::io_context io;
  tcp::socket s(io);
  std::error_code ec;
  s.connect(at_, ec);
  EXPECT_EQ(ec, asio::error::connection_refused);
  thread_.join();  // run() returns: nothing of the server is left on the executor
}

TEST_F(http_server_test, a_busy_address_fails_start_up) {
  start();
  auto second = http_server::start(io_.get_executor(), at_, handle_);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error(), make_error_code(asio::error::address_in_use));
}

TEST_F(http_server_test, random_bytes_never_take_the_server_down) {
  start({.max_head = 1024, .max_body = 1024});
  std::mt19937 rng(20240611);  // NOLINT(bugprone-random-generator-seed): reproducible
  const std::string valid = "PUT /echo?a=b HTTP/1.1\r\nContent-Length: 1\r\n\r\n1";
  for (int round = 0; round < 200; ++round) {
    std::string input = valid;
    if (round % 2 == 0) {
      input.resize(std::uniform_int_distribution<std::size_t>(0, 300)(rng));
      for (char& ch : input) ch = static_cast<char>(rng());
    } else {
      for (int i = 0; i < 3; ++i) {
        input[std::uniform_int_distribution<std::size_t>(0, input.size() - 1)(rng)] =
            static_cast<char>(rng());
      }
    }
    http_client c(at_);
    c.send(input);
    c.finish_sending();
    while (c.read_reply().status != 0) {
    }
  }
  EXPECT_EQ(request(at_, "GET", "/hello").status, 200);
}

TEST(http_server, ipv6_urls_have_brackets) {
  asio::io_context io;
  const http_server::handler handle = [](const http_request&) { return http_response{}; };
  auto s = http_server::start(io.get_executor(), {asio::ip::make_address("::1"), 0}, handle);
  if (!s) GTEST_SKIP() << "no IPv6 loopback: " << s.error().message();
  EXPECT_EQ((*s)->url(), "http://[::1]:" + std::to_string((*s)->endpoint().port()));
}

}  // namespace
}  // namespace shfn::http
