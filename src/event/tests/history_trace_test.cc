#include <gtest/gtest.h>

#include "event/history.h"
#include "event/pulsar_binding.h"
#include "event/tests/test_util.h"
#include "event/trace.h"

namespace shfn::event {
namespace {

using testing::minimal_event;

constexpr std::string_view valid_parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST(History, AppendsWithKnativeSeparator) {
  auto e = minimal_event();
  EXPECT_TRUE(history(e).empty());
  EXPECT_TRUE(append_history(e, "persistent://public/default/a"));
  EXPECT_TRUE(append_history(e, " persistent://public/default/b "));
  EXPECT_EQ(attribute(e, "shfnhistory"),
            "persistent://public/default/a; persistent://public/default/b");
  EXPECT_EQ(history(e), (std::vector<std::string>{"persistent://public/default/a",
                                                  "persistent://public/default/b"}));
  EXPECT_TRUE(validate(e));
}

TEST(History, ReadsLooseSeparatorsAndSkipsEmptyEntries) {
  auto e = minimal_event();
  e.extensions = {{"shfnhistory", " a ;b;; c "}};
  EXPECT_EQ(history(e), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(History, DropsOldestBeyondTheLimit) {
  auto e = minimal_event();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append_history(e, "t" + std::to_string(i)));
  const auto h = history(e);
  ASSERT_EQ(h.size(), history_limit);
  EXPECT_EQ(h.front(), "t4");
  EXPECT_EQ(h.back(), "t19");
  ASSERT_TRUE(append_history(e, "last", 2));
  EXPECT_EQ(history(e), (std::vector<std::string>{"t19", "last"}));
}

TEST(History, RefusesEntriesThatCannotBeReadBack) {
  auto e = minimal_event();
  EXPECT_FALSE(append_history(e, ""));
  EXPECT_FALSE(append_history(e, "a;b"));
  EXPECT_FALSE(append_history(e, "new\nline"));
  EXPECT_FALSE(attribute(e, "shfnhistory"));
}

TEST(History, TravelsAsAProperty) {
  auto e = minimal_event();
  append_history(e, "persistent://public/default/a");
  const auto m = encode_binary(e);
  EXPECT_EQ(m.props.back(), (std::pair<std::string, std::string>{"ce_shfnhistory",
                                                                 "persistent://public/default/a"}));
}

TEST(Trace, ValidTraceparents) {
  EXPECT_TRUE(is_valid_traceparent(valid_parent));
  EXPECT_TRUE(is_valid_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  // A later version may add fields.
  EXPECT_TRUE(is_valid_traceparent("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what"));
  for (std::string_view bad : {
           "",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  // 00 has 4 fields
           "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",        // version ff
           "00-00000000000000000000000000000000-b7ad6b7169203331-01",        // zero trace id
           "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",        // zero parent id
           "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",        // upper case
           "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",         // short trace id
           "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
           "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
       }) {
    EXPECT_FALSE(is_valid_traceparent(bad)) << bad;
  }
}

TEST(Trace, KeepsValidDropsInvalidWithAReason) {
  auto e = minimal_event();
  e.extensions = {{"traceparent", std::string(valid_parent)},
                  {"tracestate", "rojo=00f067aa0ba902b7"}};
  EXPECT_FALSE(drop_invalid_trace_context(e));
  EXPECT_EQ(e.extensions.size(), 2u);

  e.extensions = {{"traceparent", "garbage"}, {"tracestate", "rojo=1"}, {"other", "x"}};
  EXPECT_EQ(drop_invalid_trace_context(e),
            "dropped traceparent \"garbage\": not a W3C traceparent (00-<32 hex>-<16 hex>-<2 "
            "hex>), and its tracestate");
  EXPECT_EQ(e.extensions, (attribute_list{{"other", "x"}}));

  e.extensions = {{"traceparent", "garbage"}};
  EXPECT_EQ(
      drop_invalid_trace_context(e),
      "dropped traceparent \"garbage\": not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)");
  e.extensions = {{"tracestate", "rojo=1"}};
  EXPECT_EQ(drop_invalid_trace_context(e), "dropped tracestate: no traceparent");
  EXPECT_TRUE(e.extensions.empty());
}

TEST(Trace, PassesThroughPulsarUntouched) {
  auto e = minimal_event();
  e.extensions = {{"traceparent", std::string(valid_parent)}, {"tracestate", "congo=t61rcWkgMzE"}};
  const auto m = encode_binary(e);
  auto d = decode(m.props, m.payload);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->event.extensions, e.extensions);
}

}  // namespace
}  // namespace shfn::event
