#pragma once
// Whether the data directory's file system has room: a full disk is a state of the broker, not
// an error per message. Entered when a write fails with ENOSPC or EDQUOT; left once the file
// system has resume_at() free again, which the broker checks every check_interval while
// full (broker::disk_watch). While full:
//  - producers on persistent topics are closed and new ones refused with
//    ProducerBlockedQuotaExceededException and a message that says the disk is full: the one
//    answer that makes Pulsar's clients (C++/Python, Java, Go) fail their pending and new sends
//    at once and keep trying to re-create the producer by themselves. (A SEND_ERROR would make
//    the C++ and Go clients drop the whole connection, consumers included, and resend forever.)
//  - SENDs already on their way are dropped unanswered, as for any closed producer: nothing
//    is acknowledged that was not stored.
//  - consumers, readers and non-persistent topics go on as before. What they write (a reader's
//    or a new subscription's cursor, acknowledgements) goes into space set aside at start-up
//    (DIR/RESERVE, reserve()) and given back when the disk fills; it is set aside again
//    when writing resumes.
// Plain state, no I/O but statvfs; used on the broker's executor only, but for full(), which
// any thread may read (the process that embeds the broker shows it on its health endpoint).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

namespace shfn::broker {

class disk_space {
 public:
  // Writing resumes once this much is free (an eighth of a small file system), enough for the
  // largest message and the space a log writes ahead, so that it can go on for a while.
  static constexpr std::uint64_t resume_free_bytes = 16ull << 20;
  // Set aside for the consumers' writes on a full disk (a sixteenth of a small file system).
  static constexpr std::uint64_t reserve_bytes = 2ull << 20;

  disk_space() = default;
  explicit disk_space(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // Sets the reserve aside; best effort (a disk too small for it goes without, and says so).
  void hold_reserve();

  bool full() const { return full_.load(std::memory_order_relaxed); }
  // Whether `failure` (of a write under the data directory) means the disk is full; enters the
  // full state if so. True on the first such failure only.
  bool entered_full(const std::error_code& failure);
  static bool is_no_space(const std::error_code& failure);
  // Re-reads the free space; leaves the full state once there is resume_at(). Returns
  // whether the disk is still full.
  bool recheck();
  // Why producers are refused, for clients and logs.
  std::string refusal() const;
  std::uint64_t resume_at() const;  // free bytes, for this file system
  std::uint64_t reserve() const;    // bytes, for this file system
  std::uint64_t free_bytes() const { return free_bytes_; }

 private:
  std::filesystem::path reserve_path() const { return dir_ / "RESERVE"; }

  std::filesystem::path dir_;
  std::atomic<bool> full_ = false;
  std::uint64_t free_bytes_ = 0;  // as last read, while full
};

}  // namespace shfn::broker
