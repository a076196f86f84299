#include "http/response_parser.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"
#include "http/http.h"
#include "http/http_text.h"

namespace shfn::http {

namespace {

using http_text::is_control;
using http_text::is_tchar;

// A server that sends 1xx after 1xx without ever answering is broken, not slow.
constexpr int max_interim_responses = 16;
// A chunk-size line is a few hex digits; extensions are allowed, but not without end.
constexpr std::size_t max_chunk_line = 4096;
constexpr std::string_view status_prefix = "HTTP/1.";

std::string_view without_cr(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

bool all_digits(std::string_view s) {
  return !s.empty() &&
         std::ranges::all_of(s, [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "name: value" with a token name, no folding and no control characters; nullopt otherwise.
std::optional<std::pair<std::string, std::string>> parse_field_line(std::string_view line) {
  if (line.empty() || line.front() == ' ' || line.front() == '\t') return std::nullopt;
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim(line.substr(colon + 1));
  if (!std::ranges::all_of(name, is_tchar) || std::ranges::any_of(value, is_control)) {
    return std::nullopt;
  }
  return std::pair{ascii_lower(name), std::string(value)};
}

}  // namespace

std::optional<std::string_view> http_reply::field(std::string_view name) const {
  for (const auto& [n, v] : fields) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

result<bool> response_parser::feed(std::string_view data) {
  if (state_ == state::failed) return fail(error_);
  if (state_ == state::done) return true;
  buffer_.append(data);
  auto stepped = step();
  buffer_.erase(0, pos_);
  pos_ = 0;
  if (!stepped) return fail(stepped.error());
  return state_ == state::done;
}

result<void> response_parser::finish() {
  if (state_ == state::failed) return fail(error_);
  if (state_ == state::body_until_close) state_ = state::done;
  if (state_ != state::done) return fail_with(errc::connection_closed);
  return {};
}

result<void> response_parser::fail_with(errc e) {
  state_ = state::failed;
  error_ = make_error_code(e);
  return fail(error_);
}

result<void> response_parser::step() {
  while (true) {
    const std::string_view in = std::string_view(buffer_).substr(pos_);
    switch (state_) {
      case state::head: {
        // Anything that cannot begin a status line fails now, not at the deadline.
        const std::size_t known = std::min(in.size(), status_prefix.size());
        if (in.substr(0, known) != status_prefix.substr(0, known)) {
          return fail_with(errc::malformed_response);
        }
        const std::size_t from = scanned_ > 2 ? scanned_ - 2 : 0;
        const std::size_t end = find_head_end(in.substr(from));
        if (end == std::string_view::npos) {
          if (in.size() > limits_.max_head) return fail_with(errc::response_head_too_large);
          scanned_ = in.size();
          return {};
        }
        const std::size_t head_size = from + end;
        if (head_size > limits_.max_head) return fail_with(errc::response_head_too_large);
        if (auto ok = parse_head(in.substr(0, head_size)); !ok) return ok;
        pos_ += head_size;
        scanned_ = 0;
        if (reply_.status < 200) {
          // An interim response (100 Continue, 103 Early Hints): the real one follows.
          if (reply_.status == 101 || ++interim_responses_ > max_interim_responses) {
            return fail_with(errc::malformed_response);
          }
          reply_ = {};
          continue;
        }
        if (auto ok = start_body(); !ok) return ok;
        continue;
      }
      case state::body_length:
      case state::chunk_data: {
        const std::size_t n = std::min(in.size(), remaining_);
        if (auto ok = append_body(n); !ok) return ok;
        remaining_ -= n;
        if (remaining_ > 0) return {};
        state_ = state_ == state::body_length ? state::done : state::chunk_data_end;
        continue;
      }
      case state::chunk_data_end: {
        if (in.empty() || (in[0] == '\r' && in.size() < 2)) return {};
        if (in.starts_with("\r\n")) {
          pos_ += 2;
        } else if (in[0] == '\n') {
          pos_ += 1;
        } else {
          return fail_with(errc::malformed_response);
        }
        state_ = state::chunk_size;
        continue;
      }
      case state::chunk_size:
      case state::trailers: {
        const auto newline = in.find('\n', scanned_);
        const std::size_t line_limit =
            state_ == state::chunk_size ? max_chunk_line : limits_.max_head - trailer_bytes_;
        if (newline == std::string_view::npos) {
          if (in.size() > line_limit) {
            return fail_with(state_ == state::chunk_size ? errc::malformed_response
                                                         : errc::response_head_too_large);
          }
          scanned_ = in.size();
          return {};
        }
        if (newline + 1 > line_limit) {
          return fail_with(state_ == state::chunk_size ? errc::malformed_response
                                                       : errc::response_head_too_large);
        }
        const std::string_view line = without_cr(in.substr(0, newline));
        pos_ += newline + 1;
        scanned_ = 0;
        if (state_ == state::chunk_size) {
          if (auto ok = parse_chunk_size(line); !ok) return ok;
          continue;
        }
        trailer_bytes_ += newline + 1;
        if (line.empty()) {
          state_ = state::done;
          continue;
        }
        // Trailer fields are checked, then dropped: nothing in shfn reads them.
        if (!parse_field_line(line)) return fail_with(errc::malformed_response);
        continue;
      }
      case state::body_until_close: {
        if (auto ok = append_body(in.size()); !ok) return ok;
        return {};
      }
      case state::done:
        return {};
      case state::failed:
        return fail(error_);
    }
  }
}

result<void> response_parser::parse_head(std::string_view head) {
  std::vector<std::string_view> lines;
  for (auto line : split(head, '\n')) lines.push_back(without_cr(line));
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return fail_with(errc::malformed_response);

  // "HTTP/1.1 200 OK"; the reason phrase may be empty, and so may its separating space.
  const std::string_view status_line = lines[0];
  if (status_line.size() < 12 || !status_line.starts_with(status_prefix) ||
      !std::isdigit(static_cast<unsigned char>(status_line[7])) || status_line[8] != ' ' ||
      !all_digits(status_line.substr(9, 3)) || status_line[9] == '0' ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    return fail_with(errc::malformed_response);
  }
  const std::string_view reason = status_line.size() > 13 ? status_line.substr(13) : "";
  if (std::ranges::any_of(reason, is_control)) return fail_with(errc::malformed_response);
  reply_.minor_version = status_line[7] - '0';
  reply_.status =
      (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
  reply_.reason = reason;

  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto field = parse_field_line(lines[i]);
    if (!field) return fail_with(errc::malformed_response);
    reply_.fields.push_back(std::move(*field));
  }
  return {};
}

// How the body is delimited (RFC 9112, 6.3), in order: none for 204 and 304; chunked when
// Transfer-Encoding says so (it overrides Content-Length; the connection is closed afterwards
// anyway, so the mismatch cannot smuggle a second response); Content-Length; the end of the
// connection otherwise.
result<void> response_parser::start_body() {
  if (reply_.status == 204 || reply_.status == 304) {
    state_ = state::done;
    return {};
  }
  std::vector<std::string> codings;
  std::optional<std::size_t> length;
  for (const auto& [name, value] : reply_.fields) {
    if (name == "transfer-encoding") {
      for (auto coding : split(value, ',')) {
        if (!trim(coding).empty()) codings.push_back(ascii_lower(trim(coding)));
      }
    } else if (name == "content-length") {
      if (!all_digits(value)) return fail_with(errc::malformed_response);
      if (value.size() > 15) return fail_with(errc::response_body_too_large);
      const auto n = static_cast<std::size_t>(std::stoull(value));
      if (length && *length != n) return fail_with(errc::malformed_response);
      length = n;
    }
  }
  if (!codings.empty()) {
    if (codings != std::vector<std::string>{"chunked"}) {
      return fail_with(errc::unsupported_transfer_coding);
    }
    state_ = state::chunk_size;
    return {};
  }
  if (length) {
    if (*length > limits_.max_body) return fail_with(errc::response_body_too_large);
    remaining_ = *length;
    state_ = remaining_ == 0 ? state::done : state::body_length;
    return {};
  }
  state_ = state::body_until_close;
  return {};
}

result<void> response_parser::parse_chunk_size(std::string_view line) {
  std::size_t size = 0;
  std::size_t digits = 0;
  while (digits < line.size() && hex_value(line[digits]) >= 0) {
    if (digits == 15) return fail_with(errc::response_body_too_large);
    size = size * 16 + static_cast<std::size_t>(hex_value(line[digits]));
    ++digits;
  }
  if (digits == 0) return fail_with(errc::malformed_response);
  // Chunk extensions (";name=value", possibly after blanks) mean nothing to us.
  const std::string_view rest = line.substr(digits);
  const std::string_view extensions =
      rest.substr(std::min(rest.find_first_not_of(" \t"), rest.size()));
  if ((!extensions.empty() && extensions.front() != ';') ||
      std::ranges::any_of(extensions, is_control)) {
    return fail_with(errc::malformed_response);
  }
  if (size > limits_.max_body - reply_.body.size()) {
    return fail_with(errc::response_body_too_large);
  }
  remaining_ = size;
  state_ = size == 0 ? state::trailers : state::chunk_data;
  return {};
}

result<void> response_parser::append_body(std::size_t n) {
  if (n > limits_.max_body - reply_.body.size()) return fail_with(errc::response_body_too_large);
  reply_.body.append(buffer_, pos_, n);
  pos_ += n;
  return {};
}

}  // namespace shfn::http
