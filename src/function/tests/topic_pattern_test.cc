// Which topics a topicsPattern subscribes to, decided without a broker: the pattern matched
// whole against the name without its domain, a partitioned topic as a whole through its base
// name, nothing twice, and never a topic the function publishes to.

#include "function/topic_pattern.h"

#include <gtest/gtest.h>

namespace shfn::function {
namespace {

topic_pattern compiled(std::string_view full) {
  auto p = topic_pattern::compile(full);
  EXPECT_TRUE(p) << full;
  return p ? std::move(*p) : topic_pattern{};
}

wire::topic_name name(std::string_view full) {
  auto t = wire::parse_topic_name(full);
  EXPECT_TRUE(t) << full;
  return t ? *t : wire::topic_name{};
}

TEST(topic_pattern, is_matched_whole_without_the_domain) {
  const auto p = compiled("persistent://public/default/orders-.*");
  EXPECT_EQ(p.ns(), "public/default");
  EXPECT_TRUE(p.persistent());
  EXPECT_TRUE(p.matches(name("persistent://public/default/orders-eu")));
  EXPECT_FALSE(p.matches(name("persistent://public/default/my-orders-eu")))
      << "whole, not a search";
  EXPECT_FALSE(p.matches(name("non-persistent://public/default/orders-eu"))) << "another domain";
  EXPECT_FALSE(p.matches(name("persistent://public/other/orders-eu")));
}

TEST(topic_pattern, what_is_not_domain_tenant_namespace_and_regex_is_refused) {
  EXPECT_FALSE(topic_pattern::compile("orders-.*"));
  EXPECT_FALSE(topic_pattern::compile("persistent://public/default"));
  EXPECT_FALSE(topic_pattern::compile("persistent://public/default/orders-("));
}

TEST(topic_pattern, selects_base_names_once_and_skips_what_is_subscribed) {
  const auto p = compiled("persistent://public/default/in-.*");
  const std::vector<std::string> listed = {"persistent://public/default/in-b-partition-0",
                                           "persistent://public/default/in-b-partition-1",
                                           "persistent://public/default/in-a",
                                           "persistent://public/default/in-c",
                                           "persistent://public/default/other",
                                           "not a topic name"};
  const std::set<std::string> subscribed = {"persistent://public/default/in-c"};
  const auto chosen = p.select(listed, subscribed, [](const std::string&) { return false; });
  EXPECT_EQ(chosen.subscribe, (std::vector<std::string>{"persistent://public/default/in-a",
                                                        "persistent://public/default/in-b"}));
  EXPECT_TRUE(chosen.own_matches.empty());
}

TEST(topic_pattern, never_selects_a_topic_the_function_publishes_to) {
  const auto p = compiled("persistent://public/default/.*");
  const std::vector<std::string> listed = {"persistent://public/default/in",
                                           "persistent://public/default/out"};
  const auto chosen = p.select(
      listed, {}, [](const std::string& t) { return t == "persistent://public/default/out"; });
  EXPECT_EQ(chosen.subscribe, std::vector<std::string>{"persistent://public/default/in"});
  EXPECT_EQ(chosen.own_matches, std::vector<std::string>{"persistent://public/default/out"});
}

}  // namespace
}  // namespace shfn::function
