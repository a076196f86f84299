// The CloudEvents SQL TCK (the YAML cases the CloudEvents Go SDK, which Knative evaluates CESQL
// with, checks itself against) run against shfn's CESQL. The cases come from the Go module proxy:
// scripts/setup.sh downloads the module tests/cloudevents/modules.txt names, and CMake passes its
// tck directory as SHFN_CESQL_TCK.
//
// One documented difference: shfn keeps every attribute as a String (cesql.h), so where a case's
// event carries a YAML boolean or integer extension and the expression is that attribute alone,
// the expected value is compared as the String it travels as.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "event/cesql.h"

namespace shfn::event::cesql {
namespace {

namespace fs = std::filesystem;

cloud_event default_event() {
  cloud_event e;
  e.id = "tck-id";
  e.source = "/tck";
  e.type = "tck.type";
  return e;
}

void set(cloud_event& e, const YAML::Node& attributes) {
  for (const auto& kv : attributes) {
    const auto name = kv.first.as<std::string>();
    if (name == "specversion") continue;
    ASSERT_TRUE(set_attribute(e, name, kv.second.as<std::string>())) << name;
  }
}

cloud_event event_of(const YAML::Node& test) {
  cloud_event e = default_event();
  if (test["event"]) {
    e = cloud_event{};
    set(e, test["event"]);
  }
  if (test["eventOverrides"]) set(e, test["eventOverrides"]);
  return e;
}

// A plain YAML scalar is a boolean or an integer when it reads as one; a quoted one is a string.
value expected_value(const YAML::Node& n) {
  const auto text = n.as<std::string>();
  if (n.Tag() != "!") {
    bool b = false;
    if (YAML::convert<bool>::decode(n, b)) return b;
    std::int32_t i = 0;
    if (YAML::convert<std::int32_t>::decode(n, i)) return i;
  }
  return text;
}

std::string show(const value& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<std::int32_t>(&v)) return std::to_string(*i);
  return "'" + std::get<std::string>(v) + "'";
}

bool is_bare_attribute(const std::string& expression) {
  return !expression.empty() &&
         std::ranges::all_of(expression, [](unsigned char c) { return std::isalnum(c) != 0; });
}

struct tally {
  int cases = 0, as_strings = 0;
};

void run_case(const YAML::Node& test, tally& count) {
  const auto text = test["expression"].as<std::string>();
  SCOPED_TRACE(test["name"].as<std::string>() + ": " + text);
  ++count.cases;
  const std::string error = test["error"] ? test["error"].as<std::string>() : "";
  auto compiled = compile(text);
  if (!compiled) {
    EXPECT_EQ(error, "parse") << compiled.error().message;
    return;
  }
  ASSERT_NE(error, "parse") << "compiled, but the TCK expects a parse error";
  const result r = (*compiled)->evaluate(event_of(test));
  EXPECT_EQ(r.error ? std::string(name(r.error->kind)) : "", error)
      << (r.error ? r.error->message : "");
  if (!test["result"]) return;
  value want = expected_value(test["result"]);
  if (std::holds_alternative<std::string>(r.v) && !std::holds_alternative<std::string>(want) &&
      is_bare_attribute(text)) {
    ++count.as_strings;
    want = show(want);
  }
  EXPECT_EQ(show(r.v), show(want));
}

TEST(CesqlTck, EveryCaseOfEveryFile) {
  const char* dir = std::getenv("SHFN_CESQL_TCK");
  ASSERT_TRUE(dir != nullptr && fs::is_directory(dir))
      << "SHFN_CESQL_TCK names no directory (" << (dir ? dir : "unset")
      << "): run scripts/setup.sh, which downloads the TCK's Go module";
  tally count;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().filename().string());
    ++files;
    for (const auto& test : YAML::LoadFile(entry.path().string())["tests"]) run_case(test, count);
  }
  std::printf("CESQL TCK: %d cases in %d files; %d compared as strings\n", count.cases, files,
              count.as_strings);
  EXPECT_GE(files, 15);
  EXPECT_GE(count.cases, 200);
}

}  // namespace
}  // namespace shfn::event::cesql
