#include "cli/admin_client.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "event/uuid.h"

namespace shfn::cli {

void admin_flags::add_to(CLI::App& app, const std::string& fallback, const std::string& what) {
  const char* env_url = std::getenv("SHFN_ADMIN_URL");
  url = env_url != nullptr && *env_url != '\0' ? env_url : fallback;
  const char* env_token = std::getenv("SHFN_TOKEN");
  token = env_token != nullptr ? env_token : "";
  app.add_option("--admin-url", url, what + " (env SHFN_ADMIN_URL)")->capture_default_str();
  app.add_option("--token", token, "Authentication token (env SHFN_TOKEN)");
}

namespace {

asio::awaitable<admin_reply> call(admin_flags admin, std::string method, std::string path,
                                  int expected, std::string body, std::string content_type) {
  auto url = http::parse_http_url(admin.url + path);
  if (!url) co_return tl::unexpected("invalid --admin-url " + admin.url);
  http::header_fields headers;
  if (!admin.token.empty()) headers.emplace_back("Authorization", "Bearer " + admin.token);
  if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
  const http::http_client_limits limits{
      .timeout = std::chrono::milliseconds(static_cast<long>(admin.timeout_seconds * 1000))};
  auto reply = co_await http::request(std::move(method), std::move(*url), std::move(headers),
                                      std::move(body), limits);
  if (!reply) co_return tl::unexpected(reply.error().message());
  if (reply->status == expected) co_return std::move(*reply);
  const auto answer = nlohmann::json::parse(reply->body, nullptr, false);
  const std::string reason =
      answer.is_object() && answer.contains("reason") && answer["reason"].is_string()
          ? answer["reason"].get<std::string>()
          : reply->body;
  co_return tl::unexpected(std::to_string(reply->status) + " " + reason);
}

}  // namespace

asio::awaitable<admin_reply> admin_call(admin_flags admin, std::string method, std::string path,
                                        int expected, std::string body, std::string content_type) {
  // Not a coroutine itself: the callers' temporaries (a literal method, a path built in place)
  // arrive here as named parameters, which GCC 12 hands over safely; it destroys a temporary
  // argument of a coroutine twice.
  return call(std::move(admin), std::move(method), std::move(path), expected, std::move(body),
              std::move(content_type));
}

multipart_form::multipart_form() : boundary_("shfn-" + event::uuid_v4()) {}

void multipart_form::add(std::string_view name, std::string_view content,
                         std::string_view file_name) {
  body_ +=
      "--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"";
  if (!file_name.empty()) body_ += "; filename=\"" + std::string(file_name) + "\"";
  body_ += "\r\n\r\n" + std::string(content) + "\r\n";
}

void trigger_flags::add_to(CLI::App& cmd, bool with_topic) {
  auto* what = cmd.add_option_group("value", "What to send (one of them)");
  what->add_option("--trigger-value", value, "The value to send");
  what->add_option("--trigger-file", file, "A file whose bytes to send");
  what->require_option(1);
  if (with_topic) cmd.add_option("--topic", topic, "Which of its inputs (default: its first)");
}

asio::awaitable<int> trigger(admin_flags admin, std::string path, trigger_flags t) {
  std::string value = t.value;
  if (!t.file.empty()) {
    auto read = read_file(t.file);
    if (!read) co_return error("cannot read " + t.file, read.error());
    value = std::move(*read);
  }
  multipart_form form;
  form.add("data", value);
  if (!t.topic.empty()) form.add("topic", t.topic);
  auto reply = co_await admin_call(admin, "POST", path, 200, form.finish(), form.content_type());
  if (!reply) co_return error("admin API at " + admin.url, reply.error());
  std::fwrite(reply->body.data(), 1, reply->body.size(), stdout);
  if (!reply->body.ends_with('\n')) std::fputc('\n', stdout);
  co_return 0;
}

tl::expected<std::string, std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(std::string(std::strerror(errno)));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace shfn::cli
