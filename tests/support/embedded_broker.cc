#include "support/embedded_broker.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "broker/auth.h"
#include "broker/broker.h"
#include "support/broker_env.h"
#include "support/process.h"

namespace shfn::testing {
namespace {

// Runs openssl with `args` (no shell) and waits for it; whether it succeeded.
bool openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  auto child = child_process::spawn(args);
  if (!child) return false;
  while (child->read_line(std::chrono::seconds(30))) {
  }
  const int status = child->kill_and_wait(0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A CA (ca.pem) and a certificate for 127.0.0.1 it signed (server.pem, server.key) in `dir`.
bool make_certificates(const std::filesystem::path& dir) {
  const auto at = [&](const char* name) { return (dir / name).string(); };
  std::ofstream(dir / "server.ext") << "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n";
  return openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
                  "/CN=shfn-test-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-keyout",
                  at("ca.key"), "-out", at("ca.pem")}) &&
         openssl({"req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                  "-keyout", at("server.key"), "-out", at("server.csr")}) &&
         openssl({"x509", "-req", "-in", at("server.csr"), "-CA", at("ca.pem"), "-CAkey",
                  at("ca.key"), "-CAcreateserial", "-days", "30", "-extfile", at("server.ext"),
                  "-out", at("server.pem")});
}

class embedded_broker_environment final : public ::testing::Environment {
 public:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / unique_topic("shfn-embedded-test");
    // Token authentication on, as on the standalone the suite also runs against.
    std::filesystem::create_directories(dir_);
    const std::string secret = unique_topic("secret-key");
    const auto secret_file = dir_ / "secret.key";
    std::ofstream(secret_file, std::ios::binary) << secret;
    // TLS on too, as on the standalone scripts/test.sh starts.
    ASSERT_TRUE(make_certificates(dir_)) << "openssl could not make the test certificates";
    auto started = broker::broker_thread::start(
        {.listen = "127.0.0.1:0",
         .data_dir = dir_ / "data",
         .admin = "127.0.0.1:0",
         .token_secret_file = secret_file,
         .tls_listen = "127.0.0.1:0",
         .tls = {.certificate = dir_ / "server.pem", .key = dir_ / "server.key"}});
    ASSERT_TRUE(started.has_value()) << "embedded broker: " << started.error().message();
    broker_ = std::move(*started);
    ::setenv("PULSAR_URL", broker_->service_url().c_str(), 1);
    ::setenv("PULSAR_HTTP", broker_->admin_url().c_str(), 1);
    ::setenv("PULSAR_TOKEN", broker::token_authenticator(secret).sign("shfn-test").c_str(), 1);
    ::setenv("PULSAR_TLS_URL", broker_->tls_service_url().c_str(), 1);
    ::setenv("PULSAR_CA", (dir_ / "ca.pem").c_str(), 1);
  }
  void TearDown() override {
    broker_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<broker::broker_thread> broker_;
};

}  // namespace

bool register_embedded_broker_environment() {
  const char* flag = std::getenv("SHFN_EMBEDDED_BROKER");
  if (flag == nullptr || std::string(flag) != "1") return false;
  ::testing::AddGlobalTestEnvironment(new embedded_broker_environment);
  return true;
}

}  // namespace shfn::testing
