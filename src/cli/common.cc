#include "cli/common.h"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cctype>
#include <cstdlib>
#include <exception>

namespace shfn::cli {

namespace {
std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}
}  // namespace

void connection_flags::add_to(CLI::App& app) {
  url = env_or("SHFN_URL", "pulsar://127.0.0.1:6650");
  token = env_or("SHFN_TOKEN", "");
  tls_trust_certs = env_or("SHFN_TLS_TRUST_CERTS", "");
  app.add_option("--url", url, "Broker service URL (env SHFN_URL)")->capture_default_str();
  app.add_option("--token", token, "Authentication token (env SHFN_TOKEN)");
  app.add_option("--tls-trust-certs,--tlsTrustCertsFilePath", tls_trust_certs,
                 "CA bundle for pulsar+ssl:// (env SHFN_TLS_TRUST_CERTS)");
  app.add_flag("--tls-allow-insecure", tls_allow_insecure, "Do not verify the broker certificate");
  app.add_option("--timeout", timeout_seconds, "Operation timeout in seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

CLI::Validator one_of(std::vector<std::string> values) {
  return CLI::IsMember(std::move(values), CLI::ignore_case);
}

client::client_options connection_flags::options() const {
  client::client_options o;
  o.service_url = url;
  // A token read from a file (a Kubernetes Secret made with --from-file, `$(cat f)` keeps none)
  // often ends in a newline, which no JWT contains and which would fail authentication.
  o.auth_token = token;
  while (!o.auth_token.empty() && std::isspace(static_cast<unsigned char>(o.auth_token.back())))
    o.auth_token.pop_back();
  o.tls_trust_certs = tls_trust_certs;
  o.tls_allow_insecure = tls_allow_insecure;
  o.operation_timeout = std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
  o.connect_timeout = std::min(o.connect_timeout, o.operation_timeout);
  return o;
}

int run(std::function<asio::awaitable<int>()> body) {
  asio::io_context io(1);
  int code = 1;
  asio::co_spawn(io, body(), [&](std::exception_ptr e, int result) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        code = error("internal error", ex.what());
        return;
      }
    }
    code = result;
  });
  io.run();
  return code;
}

int error(const std::string& what, const std::string& detail) {
  fmt::print(stderr, "shfn: {}: {}\n", what, detail);
  return 1;
}

}  // namespace shfn::cli
