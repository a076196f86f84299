#include "exec/stderr_lines.h"

#include <algorithm>

namespace shfn::exec {
namespace {

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Where to cut `s` (longer than `n`) to keep at most `n` bytes: at `n`, or up to three bytes
// earlier when `n` falls inside a UTF-8 sequence.
std::size_t cut_point(std::string_view s, std::size_t n) {
  for (std::size_t back = 0; back < 4 && back < n; ++back) {
    if (!is_continuation(s[n - back])) return n - back;
  }
  return n;
}

}  // namespace

stderr_lines::stderr_lines(std::size_t max_line, std::size_t tail_bytes)
    : max_line_(std::max<std::size_t>(max_line, 1)), tail_bytes_(tail_bytes) {}

void stderr_lines::feed(std::string_view chunk, const line_sink& sink) {
  keep_tail(chunk);
  while (!chunk.empty()) {
    const auto nl = chunk.find('\n');
    partial_.append(chunk.substr(0, nl));
    while (partial_.size() > max_line_) {
      const std::size_t cut = cut_point(partial_, max_line_);
      emit(std::string_view(partial_).substr(0, cut), sink);
      partial_.erase(0, cut);
    }
    if (nl == std::string_view::npos) break;
    emit(partial_, sink);
    partial_.clear();
    chunk.remove_prefix(nl + 1);
  }
}

void stderr_lines::finish(const line_sink& sink) {
  if (!partial_.empty()) emit(partial_, sink);
  partial_.clear();
}

std::string stderr_lines::tail() const {
  if (tail_.size() <= tail_bytes_) return tail_;
  std::size_t start = tail_.size() - tail_bytes_;
  for (int i = 0; i < 3 && start < tail_.size() && is_continuation(tail_[start]); ++i) ++start;
  return tail_.substr(start);
}

void stderr_lines::emit(std::string_view line, const line_sink& sink) {
  if (sink) sink(line);
}

void stderr_lines::keep_tail(std::string_view chunk) {
  if (tail_bytes_ == 0) return;
  // Three spare bytes let tail() start at a UTF-8 boundary; trimmed only past twice the size,
  // so that keeping the tail costs amortised O(1) per byte.
  const std::size_t keep = tail_bytes_ + 3;
  tail_.append(chunk.substr(chunk.size() - std::min(chunk.size(), 2 * keep)));
  if (tail_.size() > 2 * keep) tail_.erase(0, tail_.size() - keep);
}

}  // namespace shfn::exec
