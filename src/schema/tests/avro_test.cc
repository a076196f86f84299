#include "schema/avro.h"

#include <gtest/gtest.h>

#include <string>

namespace shfn::schema::avro {
namespace {

schema parsed(const std::string& definition) {
  auto s = schema::parse(definition);
  EXPECT_TRUE(s) << definition << ": " << s.error();
  return std::move(*s);
}

// A record "User" with the given fields (JSON text of the list's items).
std::string user(const std::string& fields, const std::string& name = "User") {
  return R"({"type":"record","name":")" + name + R"(","namespace":"shop","fields":[)" + fields +
         "]}";
}

std::optional<std::string> reading(const std::string& reader, const std::string& writer) {
  return cannot_read(parsed(reader), parsed(writer));
}

TEST(Avro, ParsesWhatClientsSend) {
  parsed(R"("string")");
  parsed(R"(["null","long"])");
  parsed(user(R"({"name":"id","type":"long"},{"name":"tags","type":{"type":"array",
      "items":"string"}},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},
      {"name":"next","type":["null","User"],"default":null},
      {"name":"hash","type":{"type":"fixed","name":"Hash","size":16}},
      {"name":"again","type":"shop.Kind"},{"name":"attrs","type":{"type":"map","values":"int"}},
      {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}})"));
}

TEST(Avro, RefusesWhatIsNotASchemaAndSaysWhere) {
  EXPECT_EQ(schema::parse("{").error(), "the definition is not JSON");
  EXPECT_EQ(schema::parse(R"({"type":"recrod"})").error(), "/type: unknown type \"recrod\"");
  EXPECT_EQ(schema::parse(user(R"({"name":"a","type":"Missing"})")).error(),
            "/fields/0/type: \"Missing\" is neither a primitive type nor a type defined before it");
  EXPECT_EQ(schema::parse(R"({"type":"record","fields":[]})").error(),
            "/: a record needs a \"name\"");
  EXPECT_EQ(schema::parse(user(R"({"name":"a"})")).error(), "/fields/0: a field needs a \"type\"");
  EXPECT_EQ(schema::parse(R"({"type":"fixed","name":"F"})").error(),
            "/: a fixed needs a \"size\" of 0 or more");
  EXPECT_EQ(schema::parse(R"(["null",["int"]])").error(), "/: a union cannot hold another union");
  std::string deep = R"("int")";
  for (int i = 0; i < 100; ++i) deep = R"({"type":"array","items":)" + deep + "}";
  EXPECT_NE(schema::parse(deep).error().find("nested more than 64 deep"), std::string::npos);
}

TEST(Avro, AFieldWithADefaultMayBeAddedOrRemoved) {
  const auto v1 = user(R"({"name":"id","type":"long"})");
  const auto v2 = user(R"({"name":"id","type":"long"},{"name":"email","type":["null","string"],
                        "default":null})");
  EXPECT_EQ(reading(v2, v1), std::nullopt);  // the new reader fills the default
  EXPECT_EQ(reading(v1, v2), std::nullopt);  // the old reader skips the new field
}

TEST(Avro, AFieldWithoutADefaultCannotBeReadFromOldData) {
  const auto v1 = user(R"({"name":"id","type":"long"})");
  const auto v2 = user(R"({"name":"id","type":"long"},{"name":"email","type":"string"})");
  EXPECT_EQ(reading(v2, v1),
            "/email: the reader's field \"email\" has no default and the writer has no such field");
  EXPECT_EQ(reading(v1, v2), std::nullopt);
}

TEST(Avro, PrimitivesPromoteOneWayOnly) {
  EXPECT_EQ(reading(R"("long")", R"("int")"), std::nullopt);
  EXPECT_EQ(reading(R"("double")", R"("float")"), std::nullopt);
  EXPECT_EQ(reading(R"("bytes")", R"("string")"), std::nullopt);
  EXPECT_EQ(reading(R"("string")", R"("bytes")"), std::nullopt);
  EXPECT_EQ(reading(R"("int")", R"("long")"), "/: the reader's int cannot read the writer's long");
  EXPECT_EQ(
      reading(user(R"({"name":"id","type":"int"})"), user(R"({"name":"id","type":"string"})")),
      "/id: the reader's int cannot read the writer's string");
}

TEST(Avro, UnionsAreReadBranchByBranch) {
  EXPECT_EQ(reading(R"(["null","string"])", R"("string")"), std::nullopt);
  EXPECT_EQ(reading(R"("string")", R"(["null","string"])"),
            "/: the reader's string cannot read the writer's null");
  EXPECT_EQ(reading(R"(["null","long"])", R"(["null","int"])"), std::nullopt);
  EXPECT_EQ(reading(R"(["null","int"])", R"("string")"),
            "/: no branch of the reader's union can read the writer's string");
}

TEST(Avro, RecordsMatchByStructureWhateverTheirNames) {
  const auto v1 = user(R"({"name":"id","type":"long"})");
  EXPECT_EQ(reading(user(R"({"name":"id","type":"long"})", "Customer"), v1), std::nullopt);
  EXPECT_EQ(reading(R"({"type":"record","name":"Customer","namespace":"shop","aliases":["User"],
                        "fields":[{"name":"key","aliases":["id"],"type":"long"}]})",
                    v1),
            std::nullopt);
  // In a union too: the record branch that can read the writer's record is the one.
  EXPECT_EQ(
      reading(R"(["null",{"type":"record","name":"N2","fields":[{"name":"x","type":"int"}]}])",
              R"(["null",{"type":"record","name":"N1","fields":[{"name":"x","type":"int"}]}])"),
      std::nullopt);
  EXPECT_EQ(
      reading(R"(["null",{"type":"record","name":"N2","fields":[{"name":"y","type":"int"}]}])",
              R"(["null",{"type":"record","name":"N1","fields":[{"name":"x","type":"int"}]}])"),
      "/: no branch of the reader's union can read the writer's record N1");
}

TEST(Avro, EnumsAndFixedMatchByNameAndEnumSymbolsAreNotCompared) {
  // As Pulsar's check: a symbol the reader lacks fails only when such a value is read.
  const auto two = R"({"type":"enum","name":"Kind","symbols":["A","B"]})";
  const auto three = R"({"type":"enum","name":"Kind","symbols":["A","B","C"]})";
  EXPECT_EQ(reading(three, two), std::nullopt);
  EXPECT_EQ(reading(two, three), std::nullopt);
  EXPECT_EQ(reading(R"({"type":"enum","name":"y.Kind","symbols":["A"]})",
                    R"({"type":"enum","name":"x.Kind","symbols":["A"]})"),
            std::nullopt);
  EXPECT_EQ(reading(R"({"type":"enum","name":"Sort","symbols":["A"]})", two),
            "/: the reader's enum Sort does not match the writer's enum Kind by name or alias");
  EXPECT_EQ(reading(R"({"type":"fixed","name":"G","size":4})", R"({"type":"fixed","name":"F",
                        "size":4})"),
            "/: the reader's fixed G does not match the writer's fixed F by name or alias");
}

TEST(Avro, ContainersAndFixedCompareWhatTheyHold) {
  EXPECT_EQ(reading(R"({"type":"array","items":"long"})", R"({"type":"array","items":"int"})"),
            std::nullopt);
  EXPECT_EQ(reading(R"({"type":"map","values":"int"})", R"({"type":"map","values":"long"})"),
            "/values: the reader's int cannot read the writer's long");
  EXPECT_EQ(reading(R"({"type":"fixed","name":"F","size":8})", R"({"type":"fixed","name":"F",
                        "size":4})"),
            "/: fixed F changed its size");
}

TEST(Avro, ARecursiveRecordIsComparedWithoutEndlessDescent) {
  const auto list = user(R"({"name":"id","type":"long"},{"name":"next","type":["null","User"],
                           "default":null})");
  EXPECT_EQ(reading(list, list), std::nullopt);
  const auto narrower = user(R"({"name":"id","type":"int"},{"name":"next","type":["null","User"],
                               "default":null})");
  EXPECT_EQ(reading(narrower, list), "/id: the reader's int cannot read the writer's long");
}

}  // namespace
}  // namespace shfn::schema::avro
