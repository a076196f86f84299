// A request's form fields: multipart/form-data as pulsar-admin's trigger sends it, url-encoded
// as curl -d sends it, and the errors for what is neither.

#include "http/form.h"

#include <gtest/gtest.h>

namespace shfn::http {
namespace {

using fields = std::map<std::string, std::string>;
using namespace std::string_literals;

http_request with(std::string content_type, std::string body) {
  http_request r{.method = "POST", .target = "/x", .body = std::move(body)};
  r.fields["content-type"] = std::move(content_type);
  return r;
}

TEST(form_fields, multipart_parts_become_fields_with_their_bytes) {
  const std::string body =
      "--Boundary_1_2\r\n"
      "Content-Type: text/plain\r\n"
      "Content-Disposition: form-data; name=\"data\"\r\n\r\n"
      "hello\r\nworld\r\n"
      "--Boundary_1_2\r\n"
      "Content-Disposition: form-data; name=\"topic\"\r\n\r\n"
      "persistent://public/default/in\r\n"
      "--Boundary_1_2\r\n"
      "Content-Disposition: form-data; name=\"dataStream\"; filename=\"f\"\r\n\r\n"
      "\x00\x01"
      "\r\n--Boundary_1_2--\r\n"s;  // (s: the NUL is part of it)
  auto f = form_fields(with("multipart/form-data; boundary=Boundary_1_2", std::string(body)));
  ASSERT_TRUE(f) << f.error().body;
  EXPECT_EQ(*f, (fields{{"data", "hello\r\nworld"},
                        {"topic", "persistent://public/default/in"},
                        {"dataStream", std::string("\x00\x01", 2)}}));
  auto quoted = form_fields(with("Multipart/Form-Data; boundary=\"Boundary_1_2\"", body));
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->at("data"), "hello\r\nworld");
}

TEST(form_fields, url_encoded_bodies_are_decoded) {
  auto f = form_fields(with("application/x-www-form-urlencoded", "data=a+b%21&topic=t"));
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, (fields{{"data", "a b!"}, {"topic", "t"}}));
}

TEST(form_fields, what_is_not_a_form_is_refused_with_the_reason) {
  auto no_end = form_fields(with("multipart/form-data; boundary=b",
                                 "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv"));
  ASSERT_FALSE(no_end);
  EXPECT_EQ(no_end.error().status, 400);
  EXPECT_NE(no_end.error().body.find("without the boundary that ends it"), std::string::npos);
  auto no_name = form_fields(with("multipart/form-data; boundary=b",
                                  "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--\r\n"));
  ASSERT_FALSE(no_name);
  EXPECT_NE(no_name.error().body.find("without a field name"), std::string::npos);
  auto no_boundary = form_fields(with("multipart/form-data", "x"));
  ASSERT_FALSE(no_boundary);
  EXPECT_EQ(no_boundary.error().status, 400);
  auto json = form_fields(with("application/json", "{}"));
  ASSERT_FALSE(json);
  EXPECT_EQ(json.error().status, 415);
  EXPECT_NE(json.error().body.find("application/json"), std::string::npos);
  EXPECT_EQ(form_fields(with("application/x-www-form-urlencoded", "a=%zz")).error().status, 400);
}

}  // namespace
}  // namespace shfn::http
