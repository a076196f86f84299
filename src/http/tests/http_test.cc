// The sans-I/O HTTP pieces on their own: finding and parsing request heads, writing responses.

#include "http/http.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace shfn::http {
namespace {

using namespace std::string_literals;

TEST(http, head_end_is_found_with_either_line_ending) {
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nA: b\r\n\r\nrest"), 24u);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\nA: b\n\nrest"), 21u);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nA: b\r\n"), std::string_view::npos);
  EXPECT_EQ(find_head_end(""), std::string_view::npos);
}

TEST(http, requests_are_parsed) {
  auto r = parse_request_head(
      "DELETE /admin/v2/persistent/t/ns/a%20b/subscription/s%2F1?force=true&x=a+b HTTP/1.1\r\n"
      "Host: h\r\nCONTENT-length: 0\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\n");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->method, "DELETE");
  EXPECT_EQ(r->path, (std::vector<std::string>{"admin", "v2", "persistent", "t", "ns", "a b",
                                               "subscription", "s/1"}));
  EXPECT_EQ(r->query.at("force"), "true");
  EXPECT_EQ(r->query.at("x"), "a b");
  EXPECT_EQ(r->fields.at("host"), "h");
  EXPECT_EQ(r->fields.at("x-multi"), "1, 2");
  EXPECT_TRUE(r->keep_alive);
  EXPECT_EQ(r->content_length, 0u);
}

TEST(http, malformed_heads_map_to_statuses) {
  auto status_of = [](std::string_view head) {
    auto r = parse_request_head(head, {.max_head = 1024, .max_body = 100});
    return r ? 0 : r.error().value();
  };
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 0);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nContent-Length: 101\r\n\r\n"), 413);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"), 413);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nX: " + std::string(1100, 'x') + "\r\n\r\n"), 431);
  EXPECT_EQ(status_of("GET / HTTP/3.0\r\n\r\n"), 505);
  EXPECT_EQ(status_of("GET / HTTX/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("G@T / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET /\x01 HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nA: \0\r\n\r\n"s), 400);
  EXPECT_EQ(status_of("GET /?a=%4 HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("\r\n\r\n"), 400);
}

TEST(http, responses_are_serialized) {
  EXPECT_EQ(serialize({.status = 204}, true),
            "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(serialize({.status = 200, .content_type = "text/plain", .body = "ok"}, false),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\nok");
  // An empty body without a type (Pulsar's answer for a policy never set): no Content-Type
  // field at all, which clients would fail to parse when empty.
  EXPECT_EQ(serialize({.status = 200, .content_type = "", .body = ""}, true),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST(http, parsing_random_heads_never_fails_badly) {
  std::mt19937 rng(7);  // NOLINT(bugprone-random-generator-seed): reproducible
  const std::string valid = "GET /admin/v2/persistent/a/b/c%41?x=1 HTTP/1.1\r\nA: b\r\n\r\n";
  for (int round = 0; round < 20000; ++round) {
    std::string head = valid;
    for (int i = 0; i < 1 + round % 5; ++i) {
      head[std::uniform_int_distribution<std::size_t>(0, head.size() - 1)(rng)] =
          static_cast<char>(rng());
    }
    auto r = parse_request_head(head);
    if (!r) {
      EXPECT_EQ(r.error().category(), http_category());
    }
  }
}

TEST(http, connection_and_expect_fields_are_understood) {
  auto parsed = [](std::string_view head) {
    auto r = parse_request_head(head);
    EXPECT_TRUE(r.has_value()) << head;
    return r ? *r : http_request{};
  };
  EXPECT_TRUE(parsed("GET / HTTP/1.1\r\n\r\n").keep_alive);
  EXPECT_FALSE(parsed("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive);
  EXPECT_FALSE(parsed("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
  EXPECT_FALSE(parsed("GET / HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(parsed("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
  EXPECT_EQ(parsed("GET / HTTP/1.0\r\n\r\n").minor_version, 0);
  EXPECT_TRUE(parsed("PUT / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n").expect_continue);
  EXPECT_FALSE(parsed("PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n").expect_continue);
  EXPECT_EQ(parsed("GET /metrics/ HTTP/1.1\r\n\r\n").path, std::vector<std::string>{"metrics"});
  EXPECT_TRUE(parsed("GET / HTTP/1.1\r\n\r\n").path.empty());
  EXPECT_EQ(parsed("GET /a#frag HTTP/1.1\r\n\r\n").path, std::vector<std::string>{"a"});
  EXPECT_EQ(
      parsed("PUT / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").content_length,
      5u);
}

TEST(http, chunked_bodies_are_not_implemented) {
  auto r = parse_request_head("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), http_errc::not_implemented);
  EXPECT_EQ(r.error().value(), 501);
}

TEST(http, responses_carry_extra_fields_and_unknown_statuses) {
  http_response r{.status = 405, .body = "{}"};
  r.fields.emplace_back("Allow", "GET");
  EXPECT_EQ(serialize(r, true),
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\nAllow: GET\r\nConnection: keep-alive\r\n\r\n{}");
  EXPECT_TRUE(serialize({.status = 299}, false).starts_with("HTTP/1.1 299 Unknown\r\n"));
}

TEST(http, error_responses_are_json_reasons) {
  const http_response r = error_response(404, "not \"found\"");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"reason":"not \"found\""})");
  // Names quoted in reasons come from clients and need not be UTF-8.
  const http_response bad = error_response(400, "Invalid topic name: a\xff");
  const auto parsed = nlohmann::json::parse(bad.body, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << bad.body;
  EXPECT_EQ(parsed["reason"], "Invalid topic name: a\xef\xbf\xbd");
}

TEST(http, bearer_tokens_are_taken_from_the_authorization_field) {
  auto token_of = [](std::string_view head) -> std::string {
    auto r = parse_request_head(head);
    if (!r) return "<bad request>";
    auto t = bearer_token(*r);
    return t ? std::string(*t) : "<none>";
  };
  EXPECT_EQ(token_of("GET / HTTP/1.1\r\nAuthorization: Bearer abc.def\r\n\r\n"), "abc.def");
  EXPECT_EQ(token_of("GET / HTTP/1.1\r\nauthorization:   Bearer  x \r\n\r\n"), " x");
  EXPECT_EQ(token_of("GET / HTTP/1.1\r\nAuthorization: Basic YTpi\r\n\r\n"), "<none>");
  EXPECT_EQ(token_of("GET / HTTP/1.1\r\nAuthorization: Bearer\r\n\r\n"), "<none>");
  EXPECT_EQ(token_of("GET / HTTP/1.1\r\n\r\n"), "<none>");
}

}  // namespace
}  // namespace shfn::http
