#include "base/diagnostic.h"

#include <gtest/gtest.h>

namespace shfn {
namespace {

TEST(diagnostic, one_line_as_a_compiler_writes_it) {
  EXPECT_EQ((diagnostic{{"f.yaml", 7, 19}, "t.spec.dataBase64", "invalid base64"}).to_string(),
            "f.yaml:7:19: t.spec.dataBase64: invalid base64");
  EXPECT_EQ((diagnostic{{"f.yaml", 7, 0}, "", "no column"}).to_string(), "f.yaml:7: no column");
  EXPECT_EQ((diagnostic{{"f.yaml"}, "", "cannot read: No such file or directory"}).to_string(),
            "f.yaml: cannot read: No such file or directory");
}

TEST(diagnostic, sorted_in_file_order_keeping_the_order_found_at_one_place) {
  std::vector<diagnostic> d = {{{"f", 9, 13}, "a", "second at 9:13"},
                               {{"f", 8, 15}, "b", "at 8:15"},
                               {{"f", 9, 13}, "c", "third at 9:13"},
                               {{"f", 0, 0}, "", "the whole file"},
                               {{"f", 9, 2}, "d", "at 9:2"}};
  sort_in_file_order(d);
  std::vector<std::string> order;
  for (const auto& x : d) order.push_back(x.message);
  EXPECT_EQ(order, (std::vector<std::string>{"the whole file", "at 8:15", "at 9:2",
                                             "second at 9:13", "third at 9:13"}));
}

}  // namespace
}  // namespace shfn
