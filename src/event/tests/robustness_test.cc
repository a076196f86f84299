// Random and mutated input into every decoder: each must return an event, "no event" or an
// error, never crash, and what it accepts must be valid. Deterministic (fixed seeds), so a
// failure reproduces; the libFuzzer target (fuzz/decode_event_fuzz.cc) searches further.
#include <gtest/gtest.h>

#include <random>

#include "event/display.h"
#include "event/filter.h"
#include "event/http_binding.h"
#include "event/json_format.h"
#include "event/pulsar_binding.h"
#include "event/tests/test_util.h"

namespace shfn::event {
namespace {

using testing::full_event;

class random_input {
 public:
  explicit random_input(std::uint32_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

  std::string bytes_string(std::size_t max) {
    std::string s(below(max + 1), '\0');
    for (auto& c : s) c = static_cast<char>(below(256));
    return s;
  }

  // Bytes biased towards the characters the decoders care about.
  std::string json_ish(std::size_t max) {
    static constexpr std::string_view alphabet = "{}[]\":,\\ 0123456789-.eEtrufalsn\x01\xff\xc3";
    std::string s(below(max + 1), ' ');
    for (auto& c : s) c = alphabet[below(alphabet.size())];
    return s;
  }

  // One byte of `s` replaced, inserted or removed.
  std::string mutate(std::string s) {
    const auto at = s.empty() ? 0 : below(s.size());
    switch (below(3)) {
      case 0:
        if (!s.empty()) s[at] = static_cast<char>(below(256));
        break;
      case 1:
        s.insert(s.begin() + static_cast<long>(at), static_cast<char>(below(256)));
        break;
      default:
        if (!s.empty()) s.erase(s.begin() + static_cast<long>(at));
    }
    return s;
  }

 private:
  std::mt19937 rng_;
};

void expect_valid_if_accepted(const event_result<decoded>& r) {
  if (r) {
    EXPECT_TRUE(validate(r->event)) << validate(r->event).error().message;
  }
}

TEST(Robustness, RandomPropertiesAndPayloads) {
  random_input in(20240601);
  const std::string_view names[] = {"ce_specversion", "ce_id",   "ce_source", "ce_type",
                                    "content-type",   "ce_time", "ce_x",      "app"};
  for (int i = 0; i < 3000; ++i) {
    properties props;
    for (std::size_t k = in.below(6); k > 0; --k) {
      const auto name = in.below(4) == 0 ? in.bytes_string(8) : std::string(names[in.below(8)]);
      props.emplace_back(name, in.below(3) == 0 ? in.bytes_string(12) : "1.0");
    }
    if (in.below(2) == 0) props.emplace_back("content-type", "application/cloudevents+json");
    const auto payload = in.below(2) == 0 ? in.bytes_string(64) : in.json_ish(64);
    expect_valid_if_accepted(decode(props, as_bytes(payload)));
    expect_valid_if_accepted(
        from_message(props, as_bytes(payload),
                     {.topic = "persistent://public/default/t", .message_id = "1:1:-1:-1"}));
  }
}

TEST(Robustness, MutatedStructuredEvents) {
  random_input in(7);
  auto e = full_event();
  e.subject = "Grüße";
  const auto seed = to_json(e);
  for (int i = 0; i < 3000; ++i) {
    std::string text = seed;
    for (std::size_t k = 1 + in.below(4); k > 0; --k) text = in.mutate(std::move(text));
    auto r = from_json(text);
    if (r) {
      EXPECT_TRUE(validate(*r));
      // Whatever was accepted encodes and decodes again.
      auto again = from_json(to_json(*r));
      ASSERT_TRUE(again) << again.error().message << " for " << text;
      EXPECT_EQ(again->id, r->id);
      (void)display(*r);
    }
  }
}

TEST(Robustness, RandomHttpMessages) {
  random_input in(99);
  const std::string_view names[] = {"ce-specversion", "CE-ID",       "ce-source", "ce-type",
                                    "Content-Type",   "traceparent", "ce-x",      "Host"};
  for (int i = 0; i < 3000; ++i) {
    header_list headers;
    for (std::size_t k = in.below(7); k > 0; --k) {
      const auto name = in.below(5) == 0 ? in.bytes_string(8) : std::string(names[in.below(8)]);
      headers.emplace_back(name, in.below(2) == 0 ? in.json_ish(10) : "1.0");
    }
    const auto body = in.json_ish(48);
    auto r = from_http(headers, as_bytes(body));
    if (r && *r) {
      EXPECT_TRUE(validate(**r));
    }
  }
}

TEST(Robustness, RandomJsonIntoIndentAndFilters) {
  random_input in(3);
  for (int i = 0; i < 3000; ++i) {
    const auto text = in.json_ish(40);
    (void)go_json_indent(text, "  ", "  ");
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_discarded()) {
      auto f = parse_filter(j);
      if (f) (void)matches(*f, full_event());
    }
  }
}

}  // namespace
}  // namespace shfn::event
