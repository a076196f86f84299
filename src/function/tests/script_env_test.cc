#include "function/script_env.h"

#include <gtest/gtest.h>

namespace shfn::function {
namespace {

std::string lookup(const environment& env, const std::string& name) {
  for (const auto& [k, v] : env) {
    if (k == name) return v;
  }
  return "<unset>";
}

TEST(ScriptEnv, BaseHasIdentityUserConfigAndSpecEnvButNoInheritedShfnVariables) {
  config::function_spec spec;
  spec.name = "reverse";
  spec.user_config = {{"greeting", "hi"}, {"retries", 3}, {"nested", {{"a", 1}}}};
  spec.env = {{"MODE", "fast"}, {"PATH", "/opt/bin"}};
  const char* inherited[] = {"PATH=/usr/bin", "HOME=/root", "SHFN_TOKEN=secret", nullptr};
  const auto env = base_environment(spec, 2, inherited);
  EXPECT_EQ(lookup(env, "SHFN_FUNCTION"), "reverse");
  EXPECT_EQ(lookup(env, "SHFN_INSTANCE"), "2");
  EXPECT_EQ(lookup(env, "SHFN_CONFIG_GREETING"), "hi");
  EXPECT_EQ(lookup(env, "SHFN_CONFIG_RETRIES"), "3");
  EXPECT_EQ(lookup(env, "SHFN_CONFIG_NESTED"), R"({"a":1})");
  EXPECT_EQ(nlohmann::json::parse(lookup(env, "SHFN_USER_CONFIG"))["greeting"], "hi");
  EXPECT_EQ(lookup(env, "MODE"), "fast");
  EXPECT_EQ(lookup(env, "PATH"), "/opt/bin");  // the spec wins over the inherited value
  EXPECT_EQ(lookup(env, "HOME"), "/root");
  EXPECT_EQ(lookup(env, "SHFN_TOKEN"), "<unset>");  // the runtime's secrets stay its own
}

TEST(ScriptEnv, MessageMetadataButNeverThePayload) {
  client::message m;
  m.id = {.ledger = 3, .entry = 9, .partition = -1, .batch_index = -1};
  m.topic = "persistent://public/default/in";
  m.payload = {'s', 'e', 'c', 'r', 'e', 't'};
  m.key = "k1";
  m.properties = {{"trace-id", "abc"}, {"bad", std::string("a\0b", 3)}};
  m.publish_time = 1700000000000;
  m.redelivery_count = 2;
  const auto env = message_environment(m);
  EXPECT_EQ(lookup(env, "SHFN_TOPIC"), m.topic);
  EXPECT_EQ(lookup(env, "SHFN_MESSAGE_ID"), m.id.str());
  EXPECT_EQ(lookup(env, "SHFN_KEY"), "k1");
  EXPECT_EQ(lookup(env, "SHFN_REDELIVERY_COUNT"), "2");
  EXPECT_EQ(lookup(env, "SHFN_PUBLISH_TIME"), "1700000000000");
  EXPECT_EQ(lookup(env, "SHFN_EVENT_TIME"), "<unset>");
  EXPECT_EQ(lookup(env, "SHFN_PROP_TRACE_ID"), "abc");
  EXPECT_EQ(lookup(env, "SHFN_PROP_BAD"), "<unset>");  // a NUL cannot be passed intact
  EXPECT_EQ(nlohmann::json::parse(lookup(env, "SHFN_PROPERTIES"))["trace-id"], "abc");
  for (const auto& [k, v] : env) EXPECT_EQ(v.find("secret"), std::string::npos) << k;
}

TEST(ScriptEnv, SuffixesAreShellFriendly) {
  EXPECT_EQ(env_suffix("content-type"), "CONTENT_TYPE");
  EXPECT_EQ(env_suffix("a.b/c"), "A_B_C");
}

}  // namespace
}  // namespace shfn::function
