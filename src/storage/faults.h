#pragma once
// Fault injection for tests: every write the storage layer makes (write_all_at, truncate_file,
// sync_data, sync_directory, replace_file's rename) asks here first, so that a test can fail the
// Nth of them with the errno a real disk gives rarely or at the worst moment (EIO, ENOSPC), at
// every write in turn. Disarmed (the default), the cost is one relaxed atomic load per write.
// Process-wide: a test that arms it must not run storage work on other threads meanwhile.

#include <cstdint>

namespace shfn::storage::faults {

// From now on, the write numbered `nth` (0: the next one) fails with `error`; with `sticky`,
// every write after it fails too (a disk that stays full or broken) until disarm().
void arm(std::uint64_t nth, int error, bool sticky);
void disarm();
// Writes counted since the last arm() or disarm() (counted only while armed, and by count()).
std::uint64_t writes_seen();
// Starts counting without failing anything: to learn how many writes a scenario makes.
void count();

// Called by the storage layer before each write: the errno to fail it with, or 0. A write that
// only frees space (a truncation) is counted, but never fails with ENOSPC, as on a real disk.
int next_write(bool frees_space = false);

}  // namespace shfn::storage::faults
