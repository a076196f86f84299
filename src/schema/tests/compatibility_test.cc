#include "schema/compatibility.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/bytes.h"

namespace shfn::schema {
namespace {

definition avro(const std::string& fields) {
  return {.type = "AVRO", .data = R"({"type":"record","name":"User","fields":[)" + fields + "]}"};
}

const definition id_only = avro(R"({"name":"id","type":"long"})");
const definition with_email = avro(R"({"name":"id","type":"long"},{"name":"email",
    "type":["null","string"],"default":null})");
const definition with_required_name = avro(R"({"name":"id","type":"long"},{"name":"name",
    "type":"string"})");
const definition email_only = avro(R"({"name":"email","type":["null","string"],
    "default":null})");

std::optional<std::string> refusal(const definition& next, const std::vector<definition>& existing,
                                   strategy s) {
  return incompatibility(next, existing, s);
}

bool allowed(const definition& next, const std::vector<definition>& existing, strategy s) {
  return !refusal(next, existing, s).has_value();
}

TEST(Compatibility, StrategiesHavePulsarsNames) {
  for (const char* name :
       {"ALWAYS_INCOMPATIBLE", "ALWAYS_COMPATIBLE", "BACKWARD", "FORWARD", "FULL",
        "BACKWARD_TRANSITIVE", "FORWARD_TRANSITIVE", "FULL_TRANSITIVE"}) {
    auto s = strategy_named(name);
    ASSERT_TRUE(s) << name;
    EXPECT_EQ(name_of(*s), name);
  }
  EXPECT_FALSE(strategy_named("UNDEFINED"));
  EXPECT_FALSE(strategy_named("full"));
}

TEST(Compatibility, TheFirstVersionIsAlwaysAllowed) {
  EXPECT_TRUE(allowed(id_only, {}, strategy::always_incompatible));
}

TEST(Compatibility, BackwardLetsTheNewSchemaReadTheOld) {
  // Adding a field without a default: the new schema cannot read old data.
  EXPECT_EQ(refusal(with_required_name, {id_only}, strategy::backward),
            "Error during schema compatibility check with strategy BACKWARD: "
            "the new schema cannot read data written with an existing one: /name: the reader's "
            "field \"name\" has no default and the writer has no such field");
  EXPECT_TRUE(allowed(with_email, {id_only}, strategy::backward));
  // Removing a field without a default is backward compatible, not forward.
  EXPECT_TRUE(allowed(id_only, {with_required_name}, strategy::backward));
  EXPECT_FALSE(allowed(id_only, {with_required_name}, strategy::forward));
  EXPECT_TRUE(allowed(with_required_name, {id_only}, strategy::forward));
}

TEST(Compatibility, FullNeedsBothDirections) {
  EXPECT_TRUE(allowed(with_email, {id_only}, strategy::full));
  EXPECT_FALSE(allowed(with_required_name, {id_only}, strategy::full));
  EXPECT_FALSE(allowed(id_only, {with_required_name}, strategy::full));
}

TEST(Compatibility, TransitiveStrategiesCheckEveryVersionNotJustTheLatest) {
  // "id" gains a default, then goes: each step is fully compatible, but the first version
  // cannot read what the last one writes (it needs "id" and has no default for it).
  const definition id_with_default = avro(R"({"name":"id","type":"long","default":0})");
  const std::vector<definition> history{id_only, id_with_default};
  EXPECT_TRUE(allowed(email_only, history, strategy::full));
  EXPECT_EQ(refusal(email_only, history, strategy::full_transitive),
            "Error during schema compatibility check with strategy FULL_TRANSITIVE: "
            "an existing schema cannot read data written with the new one: /id: the reader's "
            "field \"id\" has no default and the writer has no such field");
  EXPECT_TRUE(allowed(email_only, history, strategy::backward_transitive));
  EXPECT_FALSE(allowed(email_only, history, strategy::forward_transitive));
}

TEST(Compatibility, AlwaysStrategiesDoNotLook) {
  EXPECT_TRUE(allowed(with_required_name, {id_only}, strategy::always_compatible));
  EXPECT_EQ(refusal(with_email, {id_only}, strategy::always_incompatible),
            "Schema compatibility strategy is ALWAYS_INCOMPATIBLE");
}

TEST(Compatibility, ATypeChangeIsCompatibleOnlyUnderAlwaysCompatible) {
  EXPECT_EQ(refusal({.type = "STRING"}, {id_only}, strategy::backward_transitive),
            "Incompatible schema: exists schema type AVRO, new schema type STRING");
  EXPECT_TRUE(allowed({.type = "STRING"}, {id_only}, strategy::always_compatible));
  EXPECT_TRUE(allowed({.type = "STRING"}, {{.type = "STRING"}}, strategy::full));
}

TEST(Compatibility, OneSchemaHoweverItIsSpelled) {
  definition spaced = id_only;
  spaced.data = R"({ "fields": [ {"type": "long", "name": "id"} ], "name": "User",
                     "type": "record" })";
  spaced.properties = {{"a", "b"}};
  EXPECT_TRUE(same_schema(spaced, id_only));
  EXPECT_FALSE(same_schema(with_email, id_only));
  EXPECT_FALSE(same_schema({.type = "JSON", .data = id_only.data}, id_only));
  EXPECT_TRUE(same_schema({.type = "STRING", .data = "x"}, {.type = "STRING", .data = "x"}));
  EXPECT_FALSE(same_schema({.type = "STRING", .data = "x"}, {.type = "STRING", .data = "x "}));
}

TEST(Compatibility, ProtobufIsNotCheckedButNativeProtobufKeepsItsRootMessage) {
  const definition proto_v1{.type = "PROTOBUF", .data = id_only.data};
  const definition proto_v2{.type = "PROTOBUF", .data = with_required_name.data};
  EXPECT_TRUE(allowed(proto_v2, {proto_v1}, strategy::full));
  const auto native = [](const char* root) {
    return definition{.type = "PROTOBUF_NATIVE",
                      .data = std::string(R"({"fileDescriptorSet":"","rootMessageTypeName":")") +
                              root + R"(","rootFileDescriptorName":"a.proto"})"};
  };
  EXPECT_TRUE(allowed(native("shop.User"), {native("shop.User")}, strategy::full));
  EXPECT_EQ(refusal(native("shop.Order"), {native("shop.User")}, strategy::forward),
            "Error during schema compatibility check with strategy FORWARD: "
            "an existing schema cannot read data written with the new one: Protobuf root message "
            "isn't allow change!");
}

TEST(Compatibility, JsonAndProtobufDefinitionsAreAvroSchemas) {
  definition json_v1 = id_only;
  json_v1.type = "JSON";
  definition json_v2 = with_required_name;
  json_v2.type = "JSON";
  EXPECT_FALSE(allowed(json_v2, {json_v1}, strategy::backward));
  EXPECT_EQ(invalid({.type = "JSON", .data = "{}"}),
            "invalid JSON schema definition: /: has no \"type\"");
  EXPECT_EQ(invalid({.type = "PROTOBUF", .data = "nope"}),
            "invalid PROTOBUF schema definition: the definition is not JSON");
  EXPECT_EQ(invalid({.type = "STRING", .data = "anything"}), std::nullopt);
  EXPECT_EQ(invalid({.type = "AUTO_CONSUME"}), "Schema AUTO_CONSUME is a client-side schema type");
}

definition key_value(const definition& key, const definition& value) {
  bytes data;
  put_u32(data, static_cast<std::uint32_t>(key.data.size()));
  data.insert(data.end(), key.data.begin(), key.data.end());
  put_u32(data, static_cast<std::uint32_t>(value.data.size()));
  data.insert(data.end(), value.data.begin(), value.data.end());
  return {.type = "KEY_VALUE",
          .data = std::string(as_chars(data)),
          .properties = {{"key.schema.type", key.type}, {"value.schema.type", value.type}}};
}

TEST(Compatibility, KeyValueChecksItsKeyAndItsValue) {
  const definition text{.type = "STRING"};
  EXPECT_TRUE(allowed(key_value(text, with_email), {key_value(text, id_only)}, strategy::full));
  EXPECT_EQ(
      refusal(key_value(text, with_required_name), {key_value(text, id_only)}, strategy::backward),
      "Error during schema compatibility check with strategy BACKWARD: "
      "the new schema cannot read data written with an existing one: the value: /name: "
      "the reader's field \"name\" has no default and the writer has no such field");
  EXPECT_EQ(invalid({.type = "KEY_VALUE", .data = "xx"}),
            "invalid KEY_VALUE schema: the data is not a key and a value");
}

}  // namespace
}  // namespace shfn::schema
