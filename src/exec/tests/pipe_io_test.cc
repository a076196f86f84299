#include "exec/pipe_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "exec/fd.h"

namespace shfn::exec {
namespace {

struct pipe_pair {
  unique_fd read_end, write_end;
  pipe_pair() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
};

TEST(pipe_io, writing_to_a_pipe_nobody_reads_fails_with_epipe_and_raises_no_sigpipe) {
  // With SIGPIPE at its default, a raised SIGPIPE would end this test process.
  struct sigaction previous {};
  struct sigaction by_default {};
  by_default.sa_handler = SIG_DFL;
  ASSERT_EQ(::sigaction(SIGPIPE, &by_default, &previous), 0);
  pipe_pair p;
  p.read_end.reset();
  const auto r = write_some(p.write_end.get(), as_bytes("lost"));
  EXPECT_EQ(r.status, io_status::failed);
  EXPECT_EQ(r.error, EPIPE);
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));
  ::sigaction(SIGPIPE, &previous, nullptr);
}

TEST(pipe_io, reads_report_data_would_block_and_eof) {
  pipe_pair p;
  std::uint8_t buffer[16];
  EXPECT_EQ(read_some(p.read_end.get(), buffer).status, io_status::would_block);
  ASSERT_EQ(write_some(p.write_end.get(), as_bytes("abc")).count, 3u);
  const auto r = read_some(p.read_end.get(), buffer);
  EXPECT_EQ(r.status, io_status::transferred);
  EXPECT_EQ(r.count, 3u);
  p.write_end.reset();
  EXPECT_EQ(read_some(p.read_end.get(), buffer).status, io_status::eof);
}

TEST(pipe_io, a_full_pipe_would_block) {
  pipe_pair p;
  const bytes chunk(1 << 16, 'x');
  io_result r{io_status::transferred};
  for (int i = 0; i < 64 && r.status == io_status::transferred; ++i) {
    r = write_some(p.write_end.get(), chunk);
  }
  EXPECT_EQ(r.status, io_status::would_block);
}

}  // namespace
}  // namespace shfn::exec
