// A real crash: a child process appends and reports each offset as soon as append() returned,
// and is killed with SIGKILL mid-stream. Whatever it reported must be in the log, intact.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>

#include "storage/log.h"
#include "storage/tests/temp_dir.h"

namespace shfn::storage {
namespace {

using testing::read_report;
using testing::temp_dir;
using testing::write_report;

std::string payload(std::uint64_t i) {
  return "crash-test-" + std::to_string(i * 7919);
}

// The child: appends until killed. The pipe's buffer bounds how far it runs ahead of the parent.
[[noreturn]] void append_and_report(const std::filesystem::path& dir, int report_fd) {
  auto l = log::open(dir, {.segment_bytes = 4096});  // small: the crash may hit a roll
  if (!l) ::_exit(2);
  for (std::uint64_t i = 0;; ++i) {
    auto offset = (*l)->append(as_bytes(payload(i)), i);
    if (!offset || *offset != i) ::_exit(3);
    if (!write_report(report_fd, i)) ::_exit(4);
  }
}

void crash_after(std::size_t reports_before_kill) {
  temp_dir dir;
  std::array<int, 2> pipe_fds{};
  ASSERT_EQ(::pipe(pipe_fds.data()), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    append_and_report(dir.path(), pipe_fds[1]);
  }
  ::close(pipe_fds[1]);

  std::vector<std::uint64_t> reported;
  std::uint64_t offset = 0;
  while (reported.size() < reports_before_kill && read_report(pipe_fds[0], offset)) {
    reported.push_back(offset);
  }
  ASSERT_EQ(reported.size(), reports_before_kill) << "the child stopped early";
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  // Reports written before the kill count too.
  while (read_report(pipe_fds[0], offset)) reported.push_back(offset);
  ::close(pipe_fds[0]);

  auto l = log::open(dir.path(), {.segment_bytes = 4096});
  ASSERT_TRUE(l) << l.error().message();
  ASSERT_GE((*l)->end_offset(), reported.size());
  auto entries = (*l)->read(0, reported.size(), SIZE_MAX);
  ASSERT_TRUE(entries) << entries.error().message();
  ASSERT_EQ(entries->size(), reported.size());
  for (std::size_t i = 0; i < reported.size(); ++i) {
    ASSERT_EQ(reported[i], i);
    ASSERT_EQ((*entries)[i].offset, i);
    ASSERT_EQ((*entries)[i].publish_time, i);
    ASSERT_EQ(as_chars((*entries)[i].data), payload(i));
  }
  const std::uint64_t next = (*l)->end_offset();
  EXPECT_EQ((*l)->append(as_bytes("after the crash"), 0), next);
}

TEST(log_crash, every_offset_reported_before_kill_9_survives) {
  for (std::size_t reports : {1, 500, 5000}) {
    SCOPED_TRACE(reports);
    crash_after(reports);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace shfn::storage
