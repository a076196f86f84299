#include "support/embedded_broker.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "broker/auth.h"
#include "broker/broker.h"
#include "support/broker_env.h"

namespace shfn::testing {
namespace {

class embedded_broker_environment final : public ::testing::Environment {
 public:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / unique_topic("shfn-embedded-test");
    // Token authentication on, as on the standalone the suite also runs against.
    std::filesystem::create_directories(dir_);
    const std::string secret = unique_topic("secret-key");
    const auto secret_file = dir_ / "secret.key";
    std::ofstream(secret_file, std::ios::binary) << secret;
    auto started = broker::broker_thread::start({.listen = "127.0.0.1:0",
                                                 .data_dir = dir_ / "data",
                                                 .admin = "127.0.0.1:0",
                                                 .token_secret_file = secret_file});
    ASSERT_TRUE(started.has_value()) << "embedded broker: " << started.error().message();
    broker_ = std::move(*started);
    ::setenv("PULSAR_URL", broker_->service_url().c_str(), 1);
    ::setenv("PULSAR_HTTP", broker_->admin_url().c_str(), 1);
    ::setenv("PULSAR_TOKEN", broker::token_authenticator(secret).sign("shfn-test").c_str(), 1);
    // Not (yet) offered by the embedded broker: the TLS tests skip.
    ::unsetenv("PULSAR_TLS_URL");
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
