#include "event/uuid.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace shfn::event {
namespace {

bool is_v4(const std::string& u) {
  if (u.size() != 36) return false;
  for (std::size_t i = 0; i < u.size(); ++i) {
    const char c = u[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return u[14] == '4' && std::string_view("89ab").find(u[19]) != std::string_view::npos;
}

TEST(Uuid, VersionFourAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const auto u = uuid_v4();
    ASSERT_TRUE(is_v4(u)) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(Uuid, ThreadsDoNotRepeatEachOther) {
  std::vector<std::string> a;
  std::vector<std::string> b;
  std::thread t1([&] {
    for (int i = 0; i < 1000; ++i) a.push_back(uuid_v4());
  });
  std::thread t2([&] {
    for (int i = 0; i < 1000; ++i) b.push_back(uuid_v4());
  });
  t1.join();
  t2.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 2000u);
}

}  // namespace
}  // namespace shfn::event
