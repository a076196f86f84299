#include "cli/admin_client.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

namespace shfn::cli {

void admin_flags::add_to(CLI::App& app, const std::string& fallback, const std::string& what) {
  const char* env_url = std::getenv("SHFN_ADMIN_URL");
  url = env_url != nullptr && *env_url != '\0' ? env_url : fallback;
  const char* env_token = std::getenv("SHFN_TOKEN");
  token = env_token != nullptr ? env_token : "";
  app.add_option("--admin-url", url, what + " (env SHFN_ADMIN_URL)")->capture_default_str();
  app.add_option("--token", token, "Authentication token (env SHFN_TOKEN)");
}

asio::awaitable<admin_reply> admin_call(admin_flags admin, std::string method, std::string path,
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

}  // namespace shfn::cli
