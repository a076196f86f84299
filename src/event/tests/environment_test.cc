#include "event/environment.h"

#include <gtest/gtest.h>

#include "event/tests/test_util.h"

namespace shfn::event {
namespace {

using testing::full_event;
using testing::minimal_event;

TEST(Environment, OneVariablePerAttribute) {
  EXPECT_EQ(event_environment(full_event()),
            (env_list{{"SHFN_CE_SPECVERSION", "1.0"},
                      {"SHFN_CE_ID", "1234-1234-1234"},
                      {"SHFN_CE_SOURCE", "/mycontext/subcontext"},
                      {"SHFN_CE_TYPE", "com.example.someevent"},
                      {"SHFN_CE_DATACONTENTTYPE", "application/json"},
                      {"SHFN_CE_DATASCHEMA", "https://example.com/schema.json"},
                      {"SHFN_CE_SUBJECT", "mynewfile.jpg"},
                      {"SHFN_CE_TIME", "2018-04-05T17:31:00Z"},
                      {"SHFN_CE_COMEXAMPLEEXTENSION1", "value"},
                      {"SHFN_CE_PARTITIONKEY", "customer-7"}}));
  // Unset attributes have no variable.
  EXPECT_EQ(event_environment(minimal_event()).size(), 4u);
  EXPECT_EQ(env_name("traceparent"), "SHFN_CE_TRACEPARENT");
}

TEST(Environment, NothingFromAValueReachesANameAndNulIsLeftOut) {
  auto e = minimal_event();
  // Not valid events (validate() would refuse them), so the environment must guard itself.
  e.extensions = {{"x=y", "1"}, {"ok", "$(rm -rf /); `id`"}, {"nul", std::string("a\0b", 3)}};
  EXPECT_EQ(event_environment(e).back(),
            (std::pair<std::string, std::string>{"SHFN_CE_OK", "$(rm -rf /); `id`"}));
  for (const auto& [name, value] : event_environment(e)) {
    EXPECT_EQ(name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), std::string::npos);
  }
}

TEST(ApplyMetadata, SetsOverridesAndUnsets) {
  auto e = full_event();
  const auto warnings = apply_metadata(e, {{"type", "com.example.done"},
                                           {"subject", ""},
                                           {"myext", "1"},
                                           {"partitionkey", ""},
                                           {"time", "2024-01-02T03:04:05Z"},
                                           {"specversion", "1.0"}});
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(e.type, "com.example.done");
  EXPECT_FALSE(e.subject);
  EXPECT_EQ(e.time, "2024-01-02T03:04:05Z");
  EXPECT_EQ(e.extensions, (attribute_list{{"comexampleextension1", "value"}, {"myext", "1"}}));
  EXPECT_EQ(e.data, full_event().data);  // the data is not touched
  EXPECT_TRUE(validate(e));
}

TEST(ApplyMetadata, RefusesWhatWouldBreakTheEventLineByLine) {
  auto e = full_event();
  const auto warnings = apply_metadata(e, {{"id", ""},
                                           {"specversion", "2.0"},
                                           {"time", "yesterday"},
                                           {"source", "has space"},
                                           {"Bad", "x"},
                                           {"data", "x"},
                                           {"subject", "kept going"}});
  // NOLINTBEGIN(bugprone-suspicious-missing-comma): long lines split on purpose
  EXPECT_EQ(warnings, (std::vector<std::string>{
                          "ce.id: required attribute \"id\" cannot be unset",
                          "ce.specversion: specversion cannot be changed",
                          "ce.time: time \"yesterday\" is not an RFC 3339 timestamp",
                          "ce.source: source \"has space\" is not a URI-reference",
                          "ce.Bad: invalid attribute name \"Bad\": names are lower-case letters "
                          "(a-z) and digits (0-9)",
                          "ce.data: invalid attribute name \"data\": the name is reserved for the "
                          "event data",
                      }));
  // NOLINTEND(bugprone-suspicious-missing-comma)
  auto expected = full_event();
  expected.subject = "kept going";
  EXPECT_EQ(e, expected);
}

}  // namespace
}  // namespace shfn::event
