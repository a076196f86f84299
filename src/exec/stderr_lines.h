#pragma once
// Turns a child's stderr byte stream into lines for a callback, and keeps its last bytes for
// dead letters. Sans-I/O: fed whatever a read returned.
//
// Lines are split at '\n' (not included); a line longer than max_line is delivered in pieces of
// at most max_line bytes, cut before a UTF-8 sequence rather than inside it when possible.
// finish() delivers a last line that had no '\n'.

#include <string>
#include <string_view>

#include "exec/command.h"

namespace shfn::exec {

class stderr_lines {
 public:
  stderr_lines(std::size_t max_line, std::size_t tail_bytes);

  // `sink` may be empty: then only the tail is kept.
  void feed(std::string_view chunk, const line_sink& sink);
  void finish(const line_sink& sink);

  // The last tail_bytes bytes seen (starting at a UTF-8 boundary when one is near).
  std::string tail() const;

 private:
  void emit(std::string_view line, const line_sink& sink);
  void keep_tail(std::string_view chunk);

  std::size_t max_line_;
  std::size_t tail_bytes_;
  std::string partial_;
  std::string tail_;
};

}  // namespace shfn::exec
