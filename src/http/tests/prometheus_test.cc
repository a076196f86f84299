// The Prometheus text format writer.

#include "http/prometheus.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace shfn::http {
namespace {

std::string text_of(metric_value v) {
  return std::string(v.text());
}

TEST(prometheus, label_values_are_escaped) {
  EXPECT_EQ(escape_label_value("plain/topic-1"), "plain/topic-1");
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_label_value(""), "");
}

TEST(prometheus, families_and_samples_are_written) {
  metrics_writer w;
  w.family("shfn_up", metric_type::gauge, "Whether the runtime is up.");
  w.sample("shfn_up", 1);
  w.family("shfn_messages_total", metric_type::counter, "Messages handled.");
  w.sample("shfn_messages_total", {{"function", "upper"}}, std::uint64_t{42});
  w.sample("shfn_messages_total", {{"function", "say \"hi\""}, {"instance", "a\\b\nc"}}, 7);
  const std::vector<label> dynamic = {{"function", "lower"}, {"instance", "0"}};
  w.sample("shfn_messages_total", dynamic, 0);
  EXPECT_EQ(w.str(),
            "# HELP shfn_up Whether the runtime is up.\n"
            "# TYPE shfn_up gauge\n"
            "shfn_up 1\n"
            "# HELP shfn_messages_total Messages handled.\n"
            "# TYPE shfn_messages_total counter\n"
            "shfn_messages_total{function=\"upper\"} 42\n"
            "shfn_messages_total{function=\"say \\\"hi\\\"\",instance=\"a\\\\b\\nc\"} 7\n"
            "shfn_messages_total{function=\"lower\",instance=\"0\"} 0\n");
  const std::string taken = std::move(w).str();
  EXPECT_TRUE(taken.starts_with("# HELP shfn_up "));
}

TEST(prometheus, help_text_is_escaped_and_types_are_named) {
  metrics_writer w;
  w.family("a", metric_type::histogram, "back\\slash\nnew line \"quoted\"");
  w.family("b", metric_type::summary, "s");
  w.family("c", metric_type::untyped, "u");
  EXPECT_EQ(w.str(),
            "# HELP a back\\\\slash\\nnew line \"quoted\"\n# TYPE a histogram\n"
            "# HELP b s\n# TYPE b summary\n"
            "# HELP c u\n# TYPE c untyped\n");
}

TEST(prometheus, values_are_exact_or_shortest) {
  EXPECT_EQ(text_of(0), "0");
  EXPECT_EQ(text_of(-5), "-5");
  EXPECT_EQ(text_of(std::numeric_limits<std::uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(text_of(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(text_of(std::size_t{12}), "12");
  EXPECT_EQ(text_of(2.5), "2.5");
  EXPECT_EQ(text_of(3.0), "3");
  EXPECT_EQ(text_of(0.1), "0.1");
  EXPECT_EQ(text_of(1e300), "1e+300");
  EXPECT_EQ(text_of(-2.2250738585072014e-308), "-2.2250738585072014e-308");
  EXPECT_EQ(text_of(0.5f), "0.5");
  EXPECT_EQ(text_of(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(text_of(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(text_of(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

}  // namespace
}  // namespace shfn::http
