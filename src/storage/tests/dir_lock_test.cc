#include "storage/dir_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <string>

#include "storage/errc.h"
#include "storage/tests/temp_dir.h"

namespace shfn::storage {
namespace {

using testing::temp_dir;

TEST(dir_lock, a_second_acquire_fails_until_the_first_is_released) {
  temp_dir dir;
  {
    auto first = dir_lock::acquire(dir / "data");
    ASSERT_TRUE(first) << first.error().message();
    auto second = dir_lock::acquire(dir / "data");
    ASSERT_FALSE(second);
    EXPECT_TRUE(is_dir_in_use(second.error()));
    EXPECT_NE(second.error().message().find("in use"), std::string::npos);
    EXPECT_NE(second.error().message().find(std::to_string(::getpid())), std::string::npos);

    dir_lock moved = std::move(*first);  // still held after a move
    EXPECT_FALSE(dir_lock::acquire(dir / "data"));
  }
  EXPECT_TRUE(dir_lock::acquire(dir / "data"));
}

TEST(dir_lock, a_lock_held_by_another_process_names_its_pid) {
  temp_dir dir;
  std::array<int, 2> locked{}, release{};
  ASSERT_EQ(::pipe(locked.data()), 0);
  ASSERT_EQ(::pipe(release.data()), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = dir_lock::acquire(dir.path());
    const char held = lock ? 'y' : 'n';
    if (::write(locked[1], &held, 1) != 1) ::_exit(2);
    char go = 0;
    (void)::read(release[0], &go, 1);  // hold the lock until the parent says so
    ::_exit(0);
  }
  char held = 0;
  ASSERT_EQ(::read(locked[0], &held, 1), 1);
  ASSERT_EQ(held, 'y');

  auto refused = dir_lock::acquire(dir.path());
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is_dir_in_use(refused.error()));
  EXPECT_EQ(refused.error().value(), child);
  EXPECT_NE(refused.error().message().find("pid " + std::to_string(child)), std::string::npos)
      << refused.error().message();

  ASSERT_EQ(::write(release[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  for (int fd : {locked[0], locked[1], release[0], release[1]}) ::close(fd);
  EXPECT_TRUE(dir_lock::acquire(dir.path()));  // the kernel released it when the child exited
}

}  // namespace
}  // namespace shfn::storage
