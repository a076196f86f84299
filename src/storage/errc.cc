#include "storage/errc.h"

#include <string>

namespace shfn::storage {
namespace {

struct storage_errors final : std::error_category {
  const char* name() const noexcept override { return "shfn-storage"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::bad_segment_header:
        return "log segment has a bad or unsupported header";
      case errc::corrupt_record:
        return "log record fails its checksum or is out of sequence";
      case errc::bad_cursor_file:
        return "cursor file is damaged or of an unsupported version";
      case errc::entry_too_large:
        return "entry too large for a log record";
      case errc::not_a_log_directory:
        return "directory holds files that are not a shfn log";
      case errc::bad_compacted_file:
        return "compacted-view file (COMPACTED) is damaged, or names records that are not there";
    }
    return "unknown storage error";
  }
};

struct dir_in_use_errors final : std::error_category {
  const char* name() const noexcept override { return "shfn-storage-dir-lock"; }
  std::string message(int pid) const override {
    if (pid <= 0) return "storage directory is in use by another process";
    return "storage directory is in use by another process (pid " + std::to_string(pid) + ")";
  }
};

}  // namespace

const std::error_category& storage_category() {
  static const storage_errors instance;
  return instance;
}

const std::error_category& dir_in_use_category() {
  static const dir_in_use_errors instance;
  return instance;
}

}  // namespace shfn::storage
