// The schema registry on its own: versions that follow each other by the strategy, what a
// deletion does, what survives a restart, and a damaged file. What clients see of it (Python,
// Java, Go, pulsar-admin, against Pulsar standalone too) is in tests/interop.

#include "broker/schema_registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "base/temp_dir.h"
#include "broker/tenancy.h"
#include "storage/layout.h"

namespace shfn::broker {
namespace {

using schema::definition;
using schema::strategy;

definition avro(const std::string& fields) {
  return {.type = "AVRO", .data = R"({"type":"record","name":"User","fields":[)" + fields + "]}"};
}

const definition v1 = avro(R"({"name":"id","type":"int"})");
const definition v2 = avro(R"({"name":"id","type":"int"},{"name":"email","type":["null",
    "string"],"default":null})");
const definition needs_name = avro(R"({"name":"id","type":"int"},{"name":"name",
    "type":"string"})");

wire::topic_name topic(const char* name) {
  return *wire::parse_topic_name(name);
}

std::int64_t put(schema_registry& r, const wire::topic_name& t, const definition& d,
                 schema_policy policy = {}) {
  auto v = r.put(t, d, policy);
  EXPECT_TRUE(v) << v.error().message;
  return v ? *v : -1;
}

TEST(schema_registry, versions_count_up_and_an_equal_schema_is_the_same_version) {
  temp_dir dir("shfn-schemas");
  schema_registry r(dir.path());
  const auto t = topic("persistent://public/default/users");
  EXPECT_EQ(put(r, t, v1), 0);
  EXPECT_EQ(put(r, t, v2), 1);
  definition respelled = v1;
  respelled.data =
      R"({ "name": "User", "type": "record", "fields": [{"type":"int","name":"id"}] })";
  EXPECT_EQ(put(r, t, respelled), 0);
  // A partition and the other domain share the topic's schemas.
  EXPECT_EQ(put(r, topic("non-persistent://public/default/users-partition-2"), v2), 1);
  EXPECT_EQ(r.latest(t)->value().version, 1);
}

TEST(schema_registry, an_incompatible_schema_is_refused_and_not_stored) {
  temp_dir dir("shfn-schemas");
  schema_registry r(dir.path());
  const auto t = topic("persistent://public/default/users");
  put(r, t, v1);
  auto refused = r.put(t, needs_name, {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().why, schema_refusal::reason::incompatible);
  EXPECT_EQ(refused.error().message,
            "Error during schema compatibility check with strategy FULL: the new schema cannot "
            "read data written with an existing one: /name: the reader's field \"name\" has no "
            "default and the writer has no such field");
  EXPECT_EQ(r.history(t)->size(), 1U);
  EXPECT_EQ(put(r, t, needs_name, {.strategy = strategy::always_compatible}), 1);
}

TEST(schema_registry, without_auto_update_only_a_registered_schema_is_accepted) {
  temp_dir dir("shfn-schemas");
  schema_registry r(dir.path());
  const auto t = topic("persistent://public/default/users");
  put(r, t, v1);
  const schema_policy locked{.allow_auto_update = false};
  EXPECT_EQ(put(r, t, v1, locked), 0);
  auto refused = r.put(t, v2, locked);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "Schema not found and schema auto updating is disabled.");
}

TEST(schema_registry, an_invalid_definition_is_refused_as_invalid) {
  temp_dir dir("shfn-schemas");
  schema_registry r(dir.path());
  auto refused = r.put(topic("public/default/t"), {.type = "AVRO", .data = "{nope"}, {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().why, schema_refusal::reason::invalid);
}

TEST(schema_registry, a_deletion_starts_a_new_history_and_keeps_old_versions_readable) {
  temp_dir dir("shfn-schemas");
  schema_registry r(dir.path());
  const auto t = topic("persistent://public/default/users");
  put(r, t, v1);
  EXPECT_EQ(*r.remove(t), 1);
  EXPECT_FALSE(r.latest(t)->has_value());
  EXPECT_TRUE(r.live_history(t)->empty());
  EXPECT_EQ(put(r, t, needs_name), 2);            // nothing left to be compatible with
  EXPECT_EQ(r.at(t, 0)->value().definition, v1);  // a consumer may still read version 0's data
  EXPECT_EQ(r.live_history(t)->size(), 1U);
}

TEST(schema_registry, a_consumer_is_checked_for_reading_what_is_there) {
  temp_dir dir("shfn-schemas");
  schema_registry r(dir.path());
  const auto t = topic("persistent://public/default/users");
  EXPECT_EQ(r.consumer_refusal(t, v1, strategy::full)->why, schema_refusal::reason::not_found);
  put(r, t, v1);
  EXPECT_FALSE(r.consumer_refusal(t, v2, strategy::full));
  EXPECT_TRUE(r.consumer_refusal(t, needs_name, strategy::full));
  EXPECT_FALSE(r.consumer_refusal(t, needs_name, strategy::always_compatible));
  // Under ALWAYS_INCOMPATIBLE even the same schema is refused, as Pulsar refuses it.
  EXPECT_TRUE(r.consumer_refusal(t, v1, strategy::always_incompatible));
}

TEST(schema_registry, versions_survive_a_restart_and_go_with_the_topic) {
  temp_dir dir("shfn-schemas");
  const auto t = topic("persistent://public/default/users");
  {
    schema_registry r(dir.path());
    put(r, t, v1);
    put(r, t, v2);
  }
  schema_registry reopened(dir.path());
  auto history = reopened.history(t);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 2U);
  EXPECT_EQ((*history)[1].definition, v2);
  EXPECT_GT((*history)[1].timestamp_ms, 0);
  ASSERT_TRUE(reopened.drop(t));
  EXPECT_FALSE(std::filesystem::exists(storage::schema_file(dir.path(), t)));
  EXPECT_TRUE(schema_registry(dir.path()).history(t)->empty());
}

TEST(schema_registry, a_damaged_file_is_an_error_not_an_empty_history) {
  temp_dir dir("shfn-schemas");
  const auto t = topic("persistent://public/default/users");
  {
    schema_registry r(dir.path());
    put(r, t, v1);
  }
  std::ofstream(storage::schema_file(dir.path(), t), std::ios::trunc) << "{\"versions\": [";
  schema_registry reopened(dir.path());
  auto refused = reopened.put(t, v1, {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().why, schema_refusal::reason::storage);
  EXPECT_NE(refused.error().message.find("not a schema history"), std::string::npos);
}

TEST(schema_registry, the_namespace_policies_choose_the_strategy) {
  temp_dir dir("shfn-schemas");
  auto tenants = tenancy::open(dir.path());
  ASSERT_TRUE(tenants);
  const auto t = topic("persistent://public/default/users");
  const auto set = [&](const char* name, const nlohmann::json& value) {
    ASSERT_TRUE(tenants->set_policy("public", "default", name, value));
  };
  EXPECT_EQ(schema_policy_of(*tenants, t).strategy, strategy::full);  // standalone.conf's default
  set("schema_auto_update_compatibility_strategy", "AutoUpdateDisabled");
  EXPECT_EQ(schema_policy_of(*tenants, t).strategy, strategy::always_incompatible);
  set("schema_compatibility_strategy", "UNDEFINED");
  EXPECT_EQ(schema_policy_of(*tenants, t).strategy, strategy::always_incompatible);
  set("schema_compatibility_strategy", "FORWARD");
  EXPECT_EQ(schema_policy_of(*tenants, t).strategy, strategy::forward);
  EXPECT_TRUE(schema_policy_of(*tenants, t).allow_auto_update);
  set("is_allow_auto_update_schema", false);
  EXPECT_FALSE(schema_policy_of(*tenants, t).allow_auto_update);
  EXPECT_FALSE(schema_validation_enforced(*tenants, t));
  set("schema_validation_enforced", true);
  EXPECT_TRUE(schema_validation_enforced(*tenants, t));
}

}  // namespace
}  // namespace shfn::broker
