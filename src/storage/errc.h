#pragma once
// Errors of the storage layer. Damaged files map to one of these (never a crash); failures of
// the operating system stay std::system_category() codes with their errno.

#include <sys/types.h>

#include <system_error>

namespace shfn::storage {

enum class errc {
  bad_segment_header = 1,
  corrupt_record,
  bad_cursor_file,
  entry_too_large,
  not_a_log_directory,
  bad_compacted_file,
};

const std::error_category& storage_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), storage_category()};
}

// A directory held by another dir_lock. The code's value is the holder's pid (0 when it could
// not be read), so that message() can name it: "... in use by another process (pid 1234)".
const std::error_category& dir_in_use_category();
inline std::error_code dir_in_use_error(pid_t holder) {
  return {static_cast<int>(holder), dir_in_use_category()};
}
inline bool is_dir_in_use(const std::error_code& ec) {
  return ec.category() == dir_in_use_category();
}

}  // namespace shfn::storage

template <>
struct std::is_error_code_enum<shfn::storage::errc> : std::true_type {};
