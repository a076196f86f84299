// The steps that run no process: the attribute filter, a `uri` subscriber against a real HTTP
// server (src/http's server, in-process on 127.0.0.1:0), and the display. (The messages a flow
// stage publishes, reply events and dead letters, are function/tests/events_test.cc's.)

#include "flow/step.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include "event/pulsar_binding.h"
#include "http/server.h"

namespace shfn::flow {
namespace {

using function::step_result;

event::cloud_event order() {
  event::cloud_event e;
  e.id = "e-1";
  e.source = "/orders";
  e.type = "com.example.order";
  e.datacontenttype = "application/json";
  e.data = bytes{'{', '}'};
  e.has_data = true;
  return e;
}

client::message as_message(const event::cloud_event& e) {
  auto parts = event::encode_binary(e, {{"region", "eu"}});
  client::message m;
  m.topic = "persistent://public/default/in";
  m.payload = std::move(parts.payload);
  m.properties = std::move(parts.props);
  m.key = "k";
  return m;
}

// Runs a step on its own io_context, as the runtime would, with an HTTP server beside it.
class StepTest : public ::testing::Test {
 protected:
  void serve(http::http_server::handler h) {
    auto s = http::http_server::start(io_.get_executor(), {asio::ip::make_address("127.0.0.1"), 0},
                                      std::move(h));
    ASSERT_TRUE(s) << s.error().message();
    server_ = std::move(*s);
  }

  step_result run(step& s, const event::cloud_event& e) {
    const client::message m = as_message(e);
    if (io_.stopped()) io_.restart();  // ran out of work after the previous step
    event::cloud_event input = e;
    auto f = asio::co_spawn(io_, s.run(&m, std::move(input)), asio::use_future);
    // Until the step is done: the server would keep a plain run() going forever.
    while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io_.run_one();
    return f.get();
  }

  void TearDown() override {
    if (server_) server_->stop();
  }

  asio::io_context io_{1};
  std::unique_ptr<http::http_server> server_;
};

TEST_F(StepTest, AttributeFilterPassesTheWholeEventOrNothing) {
  auto filter = event::parse_filter(nlohmann::json{{"prefix", {{"type", "com.example."}}}});
  ASSERT_TRUE(filter);
  auto s = attribute_filter_step(*filter);
  const auto passed = run(*s, order());
  EXPECT_TRUE(passed.outcome.ok());
  ASSERT_TRUE(passed.reply);
  EXPECT_EQ(*passed.reply, order());

  event::cloud_event other = order();
  other.type = "org.other";
  const auto dropped = run(*s, other);
  EXPECT_TRUE(dropped.outcome.ok());
  EXPECT_FALSE(dropped.reply);
  EXPECT_TRUE(dropped.outcome.output.empty());
}

TEST_F(StepTest, UriSubscriberPostsBinaryModeAndReadsTheReplyEvent) {
  http::http_request seen;
  serve([&](const http::http_request& r) -> http::http_response {
    seen = r;
    return {.status = 200,
            .content_type = "text/plain",
            .body = "shipped",
            .fields = {{"ce-specversion", "1.0"},
                       {"ce-id", "r-1"},
                       {"ce-source", "/shipping"},
                       {"ce-type", "com.example.shipped"}}};
  });
  auto s = uri_step(server_->url() + "/hook", std::chrono::seconds(5));
  const auto r = run(*s, order());
  ASSERT_TRUE(r.outcome.ok()) << r.outcome.message;
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.fields["ce-id"], "e-1");
  EXPECT_EQ(seen.fields["ce-type"], "com.example.order");
  EXPECT_EQ(seen.fields["content-type"], "application/json");
  EXPECT_EQ(seen.body, "{}");
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.reply->id, "r-1");
  EXPECT_EQ(r.reply->type, "com.example.shipped");
  EXPECT_EQ(std::string(r.reply->data.begin(), r.reply->data.end()), "shipped");
}

TEST_F(StepTest, UriSubscriberEmptyReplyAndPlainBody) {
  int calls = 0;
  serve([&](const http::http_request&) -> http::http_response {
    ++calls;
    if (calls == 1) return {.status = 202, .body = ""};
    return {.status = 200, .content_type = "text/plain", .body = "plain"};
  });
  auto s = uri_step(server_->url(), std::chrono::seconds(5));
  const auto none = run(*s, order());
  EXPECT_TRUE(none.outcome.ok());
  EXPECT_FALSE(none.reply);  // 2xx without a body: no reply

  const auto plain = run(*s, order());
  ASSERT_TRUE(plain.outcome.ok());
  ASSERT_TRUE(plain.reply);  // the input's event with the body as its data
  EXPECT_EQ(plain.reply->id, "e-1");
  EXPECT_EQ(plain.reply->datacontenttype, "text/plain");
  EXPECT_EQ(std::string(plain.reply->data.begin(), plain.reply->data.end()), "plain");
}

TEST_F(StepTest, UriSubscriberFailuresSayWhetherToRetry) {
  int status = 503;
  serve([&](const http::http_request&) -> http::http_response {
    return {.status = status, .body = "busy"};
  });
  auto s = uri_step(server_->url(), std::chrono::seconds(5));
  for (int retryable : {503, 500, 429, 408}) {
    status = retryable;
    const auto r = run(*s, order());
    EXPECT_FALSE(r.outcome.ok());
    EXPECT_FALSE(r.permanent) << retryable;
    EXPECT_EQ(r.outcome.exit_code, retryable);  // knativeerrorcode
    EXPECT_EQ(r.outcome.stderr_tail, "busy");   // knativeerrordata
  }
  status = 404;
  const auto lost = run(*s, order());
  EXPECT_FALSE(lost.outcome.ok());
  EXPECT_TRUE(lost.permanent);

  // Nothing listening: a network error, retried.
  const std::string url = server_->url();
  server_->stop();
  server_.reset();
  io_.poll();
  auto gone = uri_step(url, std::chrono::seconds(5));
  const auto refused = run(*gone, order());
  EXPECT_FALSE(refused.outcome.ok());
  EXPECT_FALSE(refused.permanent);
  EXPECT_NE(refused.outcome.message.find("POST " + url), std::string::npos);
}

TEST_F(StepTest, DisplayPrintsLikeEventDisplay) {
  std::vector<std::string> printed;
  auto s = display_step([&](const std::string& block) { printed.push_back(block); });
  const auto r = run(*s, order());
  EXPECT_TRUE(r.outcome.ok());
  EXPECT_FALSE(r.reply);
  ASSERT_EQ(printed.size(), 1u);
  EXPECT_NE(printed[0].find("cloudevents.Event"), std::string::npos);
  EXPECT_NE(printed[0].find("id: e-1"), std::string::npos);
}

}  // namespace
}  // namespace shfn::flow
