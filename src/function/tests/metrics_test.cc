#include "function/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace shfn::function {
namespace {

using namespace std::chrono_literals;

TEST(LatencyWindow, QuantilesOfTheRecentWindow) {
  latency_window w;
  EXPECT_TRUE(std::isnan(w.quantile_ms(0.5)));
  for (int i = 1; i <= 100; ++i) w.record(std::chrono::milliseconds(i));
  EXPECT_DOUBLE_EQ(w.quantile_ms(0.5), 50);
  EXPECT_DOUBLE_EQ(w.quantile_ms(0.99), 99);
  EXPECT_DOUBLE_EQ(w.sum_ms(), 5050);
  EXPECT_EQ(w.count(), 100u);
  // Old samples leave the window; the sum and count keep everything.
  for (int i = 0; i < 2000; ++i) w.record(1ms);
  EXPECT_DOUBLE_EQ(w.quantile_ms(0.999), 1);
  EXPECT_EQ(w.count(), 2100u);
}

TEST(Prometheus, PulsarFunctionsNamesWithFunctionAndInstanceLabels) {
  function_metrics a;
  a.received = 5;
  a.processed_successfully = 4;
  a.user_exceptions = 1;
  a.process_latency.record(2ms);
  const std::string text = render_prometheus({{"reverse", 0, a}, {"upper", 1, function_metrics{}}});
  EXPECT_NE(text.find("# TYPE pulsar_function_received_total counter"), std::string::npos);
  EXPECT_NE(text.find(R"(pulsar_function_received_total{function="reverse",instance="0"} 5)"),
            std::string::npos);
  EXPECT_NE(
      text.find(
          R"(pulsar_function_processed_successfully_total{function="reverse",instance="0"} 4)"),
      std::string::npos);
  EXPECT_NE(text.find(R"(pulsar_function_user_exceptions_total{function="upper",instance="1"} 0)"),
            std::string::npos);
  EXPECT_NE(
      text.find(
          R"(pulsar_function_process_latency_ms{function="reverse",instance="0",quantile="0.5"} 2)"),
      std::string::npos);
  EXPECT_NE(text.find("pulsar_function_last_invocation{"), std::string::npos);
  // Each family is declared once.
  EXPECT_EQ(text.find("# TYPE pulsar_function_received_total"),
            text.rfind("# TYPE pulsar_function_received_total"));
}

}  // namespace
}  // namespace shfn::function
