// What the API's create, update and delete keep: FunctionConfig in, the spec document out
// (function_document), and the directory that keeps versions through a crash (function_store).

#include "flow/function_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/temp_dir.h"
#include "config/spec.h"
#include "flow/function_admin.h"

namespace shfn::flow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

json document(const json& config, const json& spec = json::object(),
              std::string_view uploaded = "") {
  auto made = function_document(config, "rv", spec, uploaded);
  EXPECT_TRUE(made) << made.error();
  return made ? *made : json();
}

std::string refusal(const json& config, std::string_view uploaded = "") {
  auto made = function_document(config, "rv", json::object(), uploaded);
  EXPECT_FALSE(made);
  return made ? std::string() : made.error();
}

TEST(FunctionDocument, PulsarAdminsCreateBecomesASpecDocument) {
  // As pulsar-admin 4.0 sends `functions create --go ./rev.sh --inputs in --output out`.
  const auto config = json::parse(
      R"({"tenant":"public","namespace":"default","name":"rv","inputs":["in"],"output":"out",
          "outputSchemaType":"","forwardSourceMessageProperty":true,"go":"/home/me/rev.sh",
          "subName":"mine","subscriptionPosition":"Latest"})");
  const json expected = {{"apiVersion", "shfn.dev/v1alpha1"},
                         {"kind", "Function"},
                         {"metadata", {{"name", "rv"}}},
                         {"spec",
                          {{"inputs", {"in"}},
                           {"output", "out"},
                           {"script", "./rev.sh"},
                           {"subscriptionName", "mine"},
                           {"subscriptionPosition", "Latest"}}}};
  EXPECT_EQ(document(config, json::object(), "rev.sh"), expected);
}

TEST(FunctionDocument, AnUpdateReplacesWhatItGivesAndResetsWhatIsNull) {
  const json kept = {{"script", "./rev.sh"}, {"inputs", {"in"}}, {"logTopic", "log"}};
  const auto spec = document({{"command", "tr a-z A-Z"}, {"logTopic", nullptr}}, kept)["spec"];
  EXPECT_EQ(spec, json({{"command", "tr a-z A-Z"}, {"inputs", {"in"}}}));
  EXPECT_EQ(document({{"go", "up.sh"}}, spec, "up.sh")["spec"],
            json({{"script", "./up.sh"}, {"inputs", {"in"}}}));
}

TEST(FunctionDocument, WhatShfnCannotHonourIsRefusedByName) {
  EXPECT_EQ(refusal({{"cpu", 1.0}}), "functionConfig: cpu 1.0 is not supported by shfn run");
  EXPECT_EQ(refusal({{"autoAck", false}}),
            "functionConfig: autoAck false is not supported by shfn run");
  EXPECT_NE(refusal({{"py", "f.py"}}).find("not Java or Python functions"), std::string::npos);
  EXPECT_EQ(refusal({{"tenant", "other"}}),
            "functionConfig: tenant \"other\": shfn run's Functions live in public/default");
  EXPECT_EQ(refusal({{"name", "x"}}), "functionConfig: name \"x\" is not rv, the name in the path");
  EXPECT_NE(refusal({{"go", "rev.sh"}}).find("no file came with it"), std::string::npos);
  EXPECT_NE(refusal(json::object(), "rev.sh").find("no go naming it"), std::string::npos);
  EXPECT_EQ(refusal(json::array()), "functionConfig: expected a JSON object");
}

TEST(FunctionDocument, WhatGetAnswersLoadsBackAsTheSameFunction) {
  const auto file = config::load_string(R"(kind: Function
metadata: {name: rv}
spec:
  command: [tr, a-z, A-Z]
  inputs: [in]
  output: out
  mode: stream
  framing: nul
  subscriptionType: Failover
  env: {A: "1"}
  producerConfig: {batchingConfig: {batchingMaxPublishDelayMs: 5}}
)",
                                        "rv.yaml", "/tmp");
  ASSERT_TRUE(file);
  const auto& original = file->functions.at(0);
  const auto round = document(function_config_json(original));
  const auto again = config::load_string(round.dump(2), "rv.json", "/tmp");
  ASSERT_TRUE(again) << again.error().front().to_string();
  auto copy = again->functions.at(0);
  copy.where = original.where;
  EXPECT_EQ(copy, original);
}

class FunctionStore : public ::testing::Test {
 protected:
  temp_dir dir{"shfn-function-store"};
  fs::path root = dir.path() / "functions";
  const function_store::file spec{.path = "spec.yaml", .content = "kind: Function\n"};

  std::unique_ptr<function_store> open() {
    auto store = function_store::open(root);
    EXPECT_TRUE(store) << store.error().message();
    return store ? std::move(*store) : nullptr;
  }
  static function_store::file executable(std::string content) {
    return {.path = "rev.sh", .content = std::move(content), .mode = 0755};
  }
};

TEST_F(FunctionStore, KeepsAVersionWithItsFiles) {
  auto store = open();
  EXPECT_FALSE(fs::exists(root));  // made by the first change
  const function_store::file nested{.path = "bin/tool", .content = "t"};
  auto staged = store->stage("rv", {spec, executable("#!/bin/sh\nrev\n"), nested});
  ASSERT_TRUE(staged);
  EXPECT_EQ(*staged, root / ".rv.new/spec.yaml");
  EXPECT_FALSE(store->has("rv"));  // staged only
  ASSERT_TRUE(store->commit("rv"));
  EXPECT_TRUE(store->has("rv"));
  EXPECT_EQ(store->spec_paths(), std::vector<std::string>{(root / "rv/spec.yaml").string()});
  EXPECT_EQ(read(root / "rv/bin/tool"), "t");
  struct stat st{};
  ASSERT_EQ(::stat((root / "rv/rev.sh").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & S_IXUSR, 0u);

  // A new version carries what it names from the kept one, and nothing else.
  ASSERT_TRUE(store->stage("rv", {spec}, {"rev.sh"}));
  ASSERT_TRUE(store->commit("rv"));
  EXPECT_EQ(read(root / "rv/rev.sh"), "#!/bin/sh\nrev\n");
  EXPECT_FALSE(fs::exists(root / "rv/bin/tool"));

  ASSERT_TRUE(store->remove("rv"));
  EXPECT_FALSE(store->has("rv"));
  EXPECT_TRUE(open()->spec_paths().empty());
}

TEST_F(FunctionStore, ACrashBetweenTheRenamesLeavesTheOldVersion) {
  {
    auto store = open();
    ASSERT_TRUE(store->stage("rv", {spec, executable("old")}));
    ASSERT_TRUE(store->commit("rv"));
    ASSERT_TRUE(store->stage("rv", {spec, executable("new")}));
  }
  // As commit() leaves it when the process dies after its first rename.
  fs::rename(root / "rv", root / ".rv.old");
  auto store = open();
  EXPECT_TRUE(store->has("rv"));
  EXPECT_EQ(read(root / "rv/rev.sh"), "old");
  EXPECT_FALSE(fs::exists(root / ".rv.new"));  // the unfinished staging is gone
  EXPECT_FALSE(fs::exists(root / ".rv.old"));
}

TEST_F(FunctionStore, RemembersWhatIsStopped) {
  ASSERT_TRUE(open()->set_stopped("upper", true));
  auto store = open();
  EXPECT_TRUE(store->stopped("upper"));
  EXPECT_FALSE(store->stopped("rv"));
  ASSERT_TRUE(store->set_stopped("upper", false));
  EXPECT_FALSE(open()->stopped("upper"));
}

}  // namespace
}  // namespace shfn::flow
