#include "k8s/documents.h"

#include <gtest/gtest.h>

namespace shfn::k8s {
namespace {

TEST(documents, split_keeps_text_and_the_file_header_with_the_first_document) {
  const std::string yaml =
      "# header\n"
      "kind: Function\nmetadata: {name: a}\n"
      "---\n"
      "# about b\n"
      "kind: Function\nmetadata:\n  name: b  # trailing\n"
      "--- \n"
      "...\n"
      "--- {kind: Function, metadata: {name: c}}\n";
  auto docs = split_documents(yaml);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].text, "# header\nkind: Function\nmetadata: {name: a}\n");
  EXPECT_EQ(docs[0].first_line, 1);
  EXPECT_EQ(docs[1].text, "---\n# about b\nkind: Function\nmetadata:\n  name: b  # trailing\n");
  EXPECT_EQ(docs[1].first_line, 4);
  EXPECT_EQ(docs[2].text, "--- {kind: Function, metadata: {name: c}}\n");
  EXPECT_EQ(docs[2].first_line, 11);
}

TEST(documents, a_header_before_the_first_marker_joins_the_first_document) {
  auto docs = split_documents("# header\n\n---\nmetadata: {name: a}\n---\nmetadata: {name: b}\n");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].text, "# header\n\n---\nmetadata: {name: a}\n");
  EXPECT_EQ(docs[0].first_line, 1);
}

TEST(documents, markers_only_at_column_zero) {
  const std::string yaml =
      "metadata: {name: a}\n"
      "spec:\n"
      "  command: |\n"
      "    echo ---\n"
      "    ---\n"
      "  note: \"--- not a marker\"\n"
      "---x: 1\n";  // "---x" is a key, not a marker
  auto docs = split_documents(yaml);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].text, yaml);
}

TEST(documents, by_name) {
  const std::string yaml = "metadata: {name: a}\n---\nmetadata: {name: b}\nspec: {x: 1}\n";
  auto b = document_named(yaml, "b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->text, "---\nmetadata: {name: b}\nspec: {x: 1}\n");
  EXPECT_FALSE(document_named(yaml, "c"));
  EXPECT_FALSE(document_named("a: [unclosed\n", "a"));
}

}  // namespace
}  // namespace shfn::k8s
