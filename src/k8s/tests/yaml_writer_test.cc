#include "k8s/yaml_writer.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace shfn::k8s::yaml {
namespace {

// Strings a manifest may carry that a careless writer gets wrong.
// NOLINTBEGIN(bugprone-suspicious-missing-comma): "\xEF\xBB\xBF" "bom" is split on purpose
const std::vector<std::string> tricky = {
    "reverse", "true", "True", "on", "Off", "yes", "y", "N", "null", "~", "", "8081", "0555",
    "0x1f", "1e3", "-1", ".inf", ".nan", "1:20", "2024-01-01", "0.0.0.0:8081", "100m", "64Mi",
    "a b", "a: b", "a #b", "x:", "-", "--", "---", "--admin", "- x", "#x", "@x", "*x", "&x", "!x",
    "%x", "|", ">", "?x", "{x}", "[x]", "'x'", "\"x\"", "a\\b", " lead", "trail ", "tab\there",
    "caf\xC3\xA9",
    "\xEF\xBB\xBF"
    "bom",
    "line\xE2\x80\xA8sep", "nel\xC2\x85", "ctl\x01", "del\x7F",
    "nul" + std::string(1, '\0') + "byte", "cr\rhere", "pulsar+ssl://host:6651", "/metrics",
    "prometheus.io/scrape", "app.kubernetes.io/name", "=", "<<",
    // Multi-line text: scripts and spec files.
    "a\n", "a", "a\n\n", "a\n\n\n", "\na\n", "\n\na", "  indented\nnot\n", "\t tab\n",
    "\n  later indented\n", "a\n  \n", "a  \n b\n", "#!/bin/sh\necho hi\n", "---\n...\n",
    "a\r\nb\r\n",
    "\xEF\xBB\xBF"
    "a\n",
    "caf\xC3\xA9\nna\xC3\xAFve\n", "bell\x07\n", "\n", "\n\n", "x: y\n- z\n", "'\"\n\\\n",
    "no final newline\nhere", "   \n\nx\n", "\t\n"};
// NOLINTEND(bugprone-suspicious-missing-comma)

std::string round_trip(const node& doc, const std::string& key) {
  const auto text = write(doc);
  const auto parsed = YAML::Load(text);
  return parsed[key].as<std::string>();
}

TEST(yaml_writer, every_string_reads_back_as_itself) {
  for (const auto& s : tricky) {
    const auto doc = node::map().add("k", s);
    EXPECT_EQ(round_trip(doc, "k"), s) << write(doc);
    // Deeper, and as a key, and in a sequence.
    const auto nested = node::map().add(
        "data", node::map().add("inner", node::map().add(s, s)).add("list", node::seq().push(s)));
    const auto parsed = YAML::Load(write(nested));
    EXPECT_EQ(parsed["data"]["inner"][s].as<std::string>(), s) << write(nested);
    EXPECT_EQ(parsed["data"]["list"][0].as<std::string>(), s) << write(nested);
  }
}

TEST(yaml_writer, strings_another_reader_could_take_for_something_else_are_quoted) {
  // YAML 1.1 (Kubernetes' reader) reads these as booleans, numbers or null.
  for (std::string s : {"true", "on", "Off", "yes", "y", "N", "null", "~", "", "8081", "0555",
                        "1e3", "1:20", "2024-01-01", "100m", "=", "<<"}) {
    EXPECT_FALSE(plain_safe(s)) << s;
    EXPECT_EQ(write(node::map().add("k", s)), "---\nk: " + double_quoted(s) + "\n");
  }
  for (std::string s : {"reverse", "/metrics", "--admin", "pulsar://host:6650",
                        "app.kubernetes.io/name", "shfn/reverse:latest"})
    EXPECT_TRUE(plain_safe(s)) << s;
}

TEST(yaml_writer, multi_line_text_is_a_literal_block_with_the_right_indicators) {
  const auto block = [](std::string s) {
    return write(node::map().add("d", node::map().add("k", s)));
  };
  EXPECT_EQ(block("a\nb\n"), "---\nd:\n  k: |\n    a\n    b\n");
  EXPECT_EQ(block("a\nb"), "---\nd:\n  k: |-\n    a\n    b\n");
  EXPECT_EQ(block("a\n\n"), "---\nd:\n  k: |+\n    a\n\n");
  EXPECT_EQ(block("  a\nb\n"), "---\nd:\n  k: |2\n      a\n    b\n");
  EXPECT_EQ(block("\n\n x\n"), "---\nd:\n  k: |2\n\n\n     x\n");
  // What a block cannot hold is double-quoted.
  EXPECT_EQ(block("a\r\nb\n"), "---\nd:\n  k: \"a\\r\\nb\\n\"\n");
  EXPECT_EQ(block("\n"), "---\nd:\n  k: \"\\n\"\n");
}

TEST(yaml_writer, double_quoted_escapes_what_is_not_printable) {
  EXPECT_EQ(double_quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(double_quoted(std::string("\x01\x7f", 2)), R"("\x01\x7f")");
  EXPECT_EQ(double_quoted("\xE2\x80\xA8"), R"("\u2028")");
  EXPECT_EQ(double_quoted("\xC2\x85"), R"("\x85")");
  EXPECT_EQ(double_quoted("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
  EXPECT_EQ(double_quoted("bad\xFF"), "\"bad\xEF\xBF\xBD\"");  // U+FFFD
}

TEST(yaml_writer, utf8_validation) {
  EXPECT_TRUE(valid_utf8("caf\xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xC3"));              // cut short
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xE9t\xE9"));         // Latin-1
}

TEST(yaml_writer, structure_in_kubectl_style) {
  auto doc = node::map()
                 .add("apiVersion", "v1")
                 .add("empty", node::map())
                 .add("none", node::seq())
                 .add("list", node::seq()
                                  .push(node::map().add("name", "a").add("port", 8081))
                                  .push("x")
                                  .push(node::seq().push(true)))
                 .add("mode", node(365).comment("0555"));
  EXPECT_EQ(write(doc, "header\n\nmore"),
            "# header\n#\n# more\n---\n"
            "apiVersion: v1\n"
            "empty: {}\n"
            "none: []\n"
            "list:\n"
            "- name: a\n"
            "  port: 8081\n"
            "- x\n"
            "-\n"
            "  - true\n"
            "mode: 365  # 0555\n");
  EXPECT_EQ(write(node::map().add("a", 1), "", false), "a: 1\n");
}

}  // namespace
}  // namespace shfn::k8s::yaml
