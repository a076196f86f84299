// A real crash: a child process acknowledges offsets on a cursor whose compactions run on a
// syncer thread, reports each one as soon as ack() returned, and is killed with SIGKILL
// mid-stream, possibly mid-compaction. Every reported ack must be in the cursor on reopening,
// and nothing else.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>

#include "storage/cursor.h"
#include "storage/syncer.h"
#include "storage/tests/temp_dir.h"

namespace shfn::storage {
namespace {

using testing::read_report;
using testing::temp_dir;
using testing::write_report;

// The acked offsets are 0, 2, 4, ...: every other one, so that the snapshot grows and the
// journal is compacted again and again.
std::uint64_t offset_of_report(std::uint64_t i) {
  return 2 * i;
}

[[noreturn]] void ack_and_report(const std::filesystem::path& file, int report_fd) {
  syncer s;
  auto c = cursor_file::open(file, {}, &s);
  if (!c) ::_exit(2);
  for (std::uint64_t i = 0;; ++i) {
    if (!(*c)->ack(offset_of_report(i))) ::_exit(3);
    if (!write_report(report_fd, i)) ::_exit(4);
  }
}

void crash_after(std::size_t reports_before_kill) {
  temp_dir dir;
  const auto file = dir / "c.cursor";
  std::array<int, 2> pipe_fds{};
  ASSERT_EQ(::pipe(pipe_fds.data()), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    ack_and_report(file, pipe_fds[1]);
  }
  ::close(pipe_fds[1]);

  std::uint64_t reported = 0;
  std::uint64_t value = 0;
  while (reported < reports_before_kill && read_report(pipe_fds[0], value)) {
    ASSERT_EQ(value, reported);
    ++reported;
  }
  ASSERT_EQ(reported, reports_before_kill) << "the child stopped early";
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  while (read_report(pipe_fds[0], value)) ++reported;  // written before the kill: they count
  ::close(pipe_fds[0]);

  auto c = cursor_file::open(file);
  ASSERT_TRUE(c) << c.error().message();
  const cursor_state& state = (*c)->state();
  auto acked = [&](std::uint64_t offset) {
    return offset < state.mark_delete || state.acked.contains(offset);
  };
  for (std::uint64_t i = 0; i < reported; ++i) {
    ASSERT_TRUE(acked(offset_of_report(i))) << "ack " << i << " of " << reported << " lost";
  }
  // Nothing that was never acked, and at most the one ack in flight at the kill beyond them.
  EXPECT_EQ(state.mark_delete, 1u);
  for (const auto& [first, last] : state.acked) {
    EXPECT_EQ(last, first + 1);
    EXPECT_EQ(first % 2, 0u);
    EXPECT_LE(first, offset_of_report(reported));
  }
}

TEST(cursor_crash, every_ack_reported_before_kill_9_survives_compactions_in_flight) {
  for (std::size_t reports : {1, 5000, 30000}) {
    SCOPED_TRACE(reports);
    crash_after(reports);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace shfn::storage
