#include "storage/dir_lock.h"

#include <fcntl.h>
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

// A process that starts children (shfn run spawns a script per message) must not pass the lock
// on: a child forked between spawn and exec still holds every descriptor of its parent, and if
// the parent is killed in that window, a restart would find the directory "in use".
TEST(dir_lock, a_child_that_inherits_the_descriptor_does_not_hold_the_lock) {
  temp_dir dir;
  std::array<int, 2> forked{}, release{};
  ASSERT_EQ(::pipe(forked.data()), 0);
  ASSERT_EQ(::pipe(release.data()), 0);
  const pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    auto lock = dir_lock::acquire(dir.path());
    if (!lock) ::_exit(2);
    if (::fork() == 0) {  // the child keeps every descriptor and outlives its parent
      if (::write(forked[1], "y", 1) != 1) ::_exit(2);
      char go = 0;
      (void)::read(release[0], &go, 1);
      ::_exit(0);
    }
    char ready = 0;
    if (::read(forked[0], &ready, 1) != 1) ::_exit(2);
    ::_exit(0);  // the holder is gone; its child lives on
  }
  int status = 0;
  ASSERT_EQ(::waitpid(holder, &status, 0), holder);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  auto lock = dir_lock::acquire(dir.path());
  EXPECT_TRUE(lock) << lock.error().message();

  ASSERT_EQ(::write(release[1], "x", 1), 1);
  for (int fd : {forked[0], forked[1], release[0], release[1]}) ::close(fd);
}

TEST(dir_lock, acquiring_a_directory_this_process_holds_keeps_the_first_lock) {
  temp_dir dir;
  auto first = dir_lock::acquire(dir.path());
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_FALSE(dir_lock::acquire(dir.path()));
  EXPECT_FALSE(dir_lock::acquire(dir.path() / "." / ""));  // the same directory, spelt otherwise

  // The refused attempts must not have dropped the lock another process sees. Asked of the
  // kernel directly: a forked child's copy of this process's table would refuse it anyway.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int fd = ::open((dir / "LOCK").c_str(), O_RDWR);
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    const bool held = fd >= 0 && ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
    ::_exit(held ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the lock was dropped";
}

}  // namespace
}  // namespace shfn::storage
