#include "storage/cursor.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string_view>

#include "storage/encoding.h"
#include "storage/errc.h"
#include "wire/crc32c.h"

namespace shfn::storage {
namespace {

constexpr std::string_view cursor_magic = "SHFNCUR1";
constexpr std::uint32_t format_version = 1;
constexpr std::size_t header_bytes = 16;
constexpr std::size_t frame_bytes = 8;  // length and crc before each record body
constexpr std::uint64_t compact_after_bytes = 64 << 10;

enum record_type : std::uint8_t {
  snapshot = 1,
  ack = 2,
  ack_ranges = 3,
  ack_cumulative = 4,
  reset = 5,
};

using offset_ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

bytes encode_header() {
  bytes out(cursor_magic.begin(), cursor_magic.end());
  put_u32(out, format_version);
  put_u32(out, wire::crc32c(out));
  return out;
}

bool header_is_valid(byte_view file) {
  return file.size() >= header_bytes &&
         std::equal(cursor_magic.begin(), cursor_magic.end(), file.begin()) &&
         load_u32(file.data() + 8) == format_version &&
         load_u32(file.data() + 12) == wire::crc32c(file.first(12));
}

void append_framed(bytes& out, const bytes& body) {
  put_u32(out, static_cast<std::uint32_t>(body.size()));
  put_u32(out, wire::crc32c(body));
  put_bytes(out, body);
}

// The body of the framed record at the start of `file`; nullopt when it is torn or corrupt.
std::optional<byte_view> framed_body(byte_view file) {
  if (file.size() < frame_bytes) return std::nullopt;
  const std::uint32_t length = load_u32(file.data());
  if (length == 0 || length > file.size() - frame_bytes) return std::nullopt;
  const byte_view body = file.subspan(frame_bytes, length);
  if (wire::crc32c(body) != load_u32(file.data() + 4)) return std::nullopt;
  return body;
}

void put_ranges(bytes& out, const offset_ranges& ranges) {
  put_u32(out, static_cast<std::uint32_t>(ranges.size()));
  for (const auto& [first, last] : ranges) {
    put_u64(out, first);
    put_u64(out, last);
  }
}

void put_string(bytes& out, const std::string& s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  put_bytes(out, as_bytes(s));
}

bytes encode_snapshot(const cursor_state& state) {
  bytes body{record_type::snapshot};
  put_u64(body, state.mark_delete);
  put_ranges(body, offset_ranges(state.acked.begin(), state.acked.end()));
  put_u32(body, static_cast<std::uint32_t>(state.properties.size()));
  for (const auto& [key, value] : state.properties) {
    put_string(body, key);
    put_string(body, value);
  }
  return body;
}

bool read_ranges(byte_reader& in, offset_ranges& ranges) {
  std::uint32_t n = 0;
  if (!in.read_u32(n) || n > in.remaining() / 16) return false;
  ranges.resize(n);
  for (auto& [first, last] : ranges) {
    if (!read_u64(in, first) || !read_u64(in, last)) return false;
  }
  return true;
}

bool read_string(byte_reader& in, std::string& s) {
  std::uint32_t size = 0;
  byte_view text;
  if (!in.read_u32(size) || !in.read_span(size, text)) return false;
  s = as_chars(text);
  return true;
}

// Keeps the invariant: nothing in `acked` below mark_delete, and mark_delete past every
// acknowledged offset contiguous with it.
void settle(cursor_state& state) {
  state.acked.erase_below(state.mark_delete);
  state.mark_delete = state.acked.first_gap_at_or_after(state.mark_delete);
  state.acked.erase_below(state.mark_delete);
}

bool read_snapshot(byte_reader& in, cursor_state& state) {
  cursor_state loaded;
  offset_ranges ranges;
  std::uint32_t properties = 0;
  if (!read_u64(in, loaded.mark_delete) || !read_ranges(in, ranges) || !in.read_u32(properties)) {
    return false;
  }
  for (const auto& [first, last] : ranges) loaded.acked.insert(first, last);
  for (std::uint32_t i = 0; i < properties; ++i) {
    std::string key, value;
    if (!read_string(in, key) || !read_string(in, value)) return false;
    loaded.properties.emplace(std::move(key), std::move(value));
  }
  settle(loaded);
  state = std::move(loaded);
  return true;
}

enum class applied { ok, malformed, unknown_type };

// Applies one record body. Live changes and journal replay both go through here, so the state
// after a restart is by construction the state before it.
applied apply_record(cursor_state& state, byte_view body) {
  byte_reader in(body.subspan(1));
  std::uint64_t value = 0;
  offset_ranges ranges;
  bool ok = false;
  switch (body[0]) {
    case record_type::snapshot:
      ok = read_snapshot(in, state);
      break;
    case record_type::ack:
      if ((ok = read_u64(in, value))) state.acked.insert(value);
      break;
    case record_type::ack_ranges:
      if ((ok = read_ranges(in, ranges))) {
        for (const auto& [first, last] : ranges) state.acked.insert(first, last);
      }
      break;
    case record_type::ack_cumulative:
      if ((ok = read_u64(in, value))) {
        state.mark_delete = std::max(state.mark_delete, value == UINT64_MAX ? value : value + 1);
      }
      break;
    case record_type::reset:
      if ((ok = read_u64(in, value))) {
        state.acked.clear();
        state.mark_delete = value;
      }
      break;
    default:
      return applied::unknown_type;
  }
  if (!ok || in.remaining() != 0) return applied::malformed;
  settle(state);
  return applied::ok;
}

std::filesystem::path temp_path(const std::filesystem::path& file) {
  std::filesystem::path temp = file;
  temp += ".tmp";
  return temp;
}

// Copies the bytes [begin, end) of one file to position `to` of another.
result<void> copy_range(int from_fd, std::uint64_t begin, std::uint64_t end, int to_fd,
                        std::uint64_t to) {
  if (end <= begin) return {};
  bytes buffer(end - begin);
  auto got = read_at(from_fd, buffer, begin);
  if (!got) return fail(got.error());
  if (*got != buffer.size()) return fail(std::make_error_code(std::errc::io_error));
  return write_all_at(to_fd, buffer, to);
}

}  // namespace

// What the syncer runs. It outlives the cursor only in the syncer's hands after sync_now()
// returned, when `owner` is no longer used (the cursor's destructor waits for that).
struct cursor_file::compaction_job final : syncable {
  explicit compaction_job(cursor_file* c) : owner(c) {}
  void sync_now() override { owner->compact_now(); }
  cursor_file* owner;
};

cursor_file::cursor_file(std::filesystem::path file, cursor_state state)
    : path_(std::move(file)), state_(std::move(state)) {}

cursor_file::~cursor_file() {
  std::unique_lock lock(mutex_);
  closing_ = true;
  compaction_done_.wait(lock, [this] { return !compaction_in_flight_; });
}

result<std::unique_ptr<cursor_file>> cursor_file::open(
    const std::filesystem::path& file, std::map<std::string, std::string> initial_properties,
    syncer* compactor) {
  std::unique_ptr<cursor_file> cursor(
      new cursor_file(file, cursor_state{.properties = std::move(initial_properties)}));
  if (compactor != nullptr) {
    cursor->compactor_ = compactor;
    cursor->job_ = std::make_shared<compaction_job>(cursor.get());
  }
  auto fd = open_file(file, O_RDWR);
  if (fd) {
    cursor->fd_ = std::make_shared<unique_fd>(std::move(*fd));
    if (auto ok = cursor->load(); !ok) return fail(ok.error());
    return cursor;
  }
  if (fd.error() != std::errc::no_such_file_or_directory) return fail(fd.error());
  if (auto ok = create_directory_durably(parent_directory(file)); !ok) return fail(ok.error());
  if (auto ok = cursor->install_snapshot(); !ok) return fail(ok.error());
  return cursor;
}

result<void> cursor_file::load() {
  auto size = file_size(fd_->get());
  if (!size) return fail(size.error());
  bytes contents(*size);
  auto got = read_at(fd_->get(), contents, 0);
  if (!got) return fail(got.error());
  const byte_view file = byte_view(contents).first(*got);
  auto first = header_is_valid(file) ? framed_body(file.subspan(header_bytes)) : std::nullopt;
  if (!first || (*first)[0] != record_type::snapshot ||
      apply_record(state_, *first) != applied::ok) {
    spdlog::error("cursor {}: header or snapshot is damaged", path_.string());
    return fail(errc::bad_cursor_file);
  }
  snapshot_bytes_ = header_bytes + frame_bytes + first->size();
  std::uint64_t position = snapshot_bytes_;
  while (position < file.size()) {
    auto body = framed_body(file.subspan(position));
    if (!body) {
      spdlog::warn("cursor {}: dropping {} bytes of torn or corrupt journal", path_.string(),
                   file.size() - position);
      if (auto ok = truncate_file(fd_->get(), position); !ok) return fail(ok.error());
      dirty_ = true;
      break;
    }
    if (apply_record(state_, *body) != applied::ok) {
      // Intact but not understood: written by a newer version, not torn by a crash.
      spdlog::error("cursor {}: journal record at byte {} is not understood", path_.string(),
                    position);
      return fail(errc::bad_cursor_file);
    }
    position += frame_bytes + body->size();
  }
  file_end_ = position;
  journal_bytes_ = position - snapshot_bytes_;
  return {};
}

bytes cursor_file::snapshot_image() const {
  bytes image = encode_header();
  append_framed(image, encode_snapshot(state_));
  return image;
}

// Writes the whole state as a new file and renames it over the old one: compaction without a
// syncer, and creation (so that a crash never leaves a cursor file without its snapshot).
result<void> cursor_file::install_snapshot() {
  const bytes image = snapshot_image();
  const auto temp = temp_path(path_);
  auto fd = open_file(temp, O_RDWR | O_CREAT | O_TRUNC);
  if (!fd) return fail(fd.error());
  auto written = write_all_at(fd->get(), image, 0);
  if (written) written = sync_data(fd->get());
  if (written) written = rename_file(temp, path_);
  if (!written) {
    (void)remove_file(temp);
    return written;
  }
  {
    std::lock_guard lock(mutex_);
    fd_ = std::make_shared<unique_fd>(std::move(*fd));
    file_end_ = snapshot_bytes_ = image.size();
    journal_bytes_ = 0;
    dirty_ = false;  // everything is in the fdatasynced snapshot
  }
  if (auto ok = sync_directory(parent_directory(path_)); !ok) {
    spdlog::warn("cursor {}: directory fsync failed ({}); sync() will retry it", path_.string(),
                 ok.error().message());
    std::lock_guard lock(mutex_);
    dir_dirty_ = true;
  }
  return {};
}

result<void> cursor_file::write_record(const bytes& body, bool& compact) {
  bytes framed;
  append_framed(framed, body);
  std::lock_guard lock(mutex_);
  if (broken_) return fail(broken_);
  auto fd = file_locked();
  if (!fd) return fail(fd.error());
  if (auto ok = write_all_at((*fd)->get(), framed, file_end_); !ok) {
    // A partial record would hide every later one from replay: cut it off, or stop writing.
    if (!truncate_file((*fd)->get(), file_end_)) broken_ = ok.error();
    return ok;
  }
  file_end_ += framed.size();
  journal_bytes_ += framed.size();
  dirty_ = true;
  // Relative to the snapshot too, so that a cursor with many holes doesn't rewrite its large
  // snapshot after every few acks.
  compact =
      !compaction_in_flight_ && journal_bytes_ > std::max(compact_after_bytes, snapshot_bytes_);
  return {};
}

result<void> cursor_file::journal(const bytes& body) {
  bool compact = false;
  if (auto ok = write_record(body, compact); !ok) return ok;
  apply_record(state_, body);
  if (compact) start_compaction();
  return {};
}

void cursor_file::start_compaction() {
  if (compactor_ == nullptr) {
    if (auto ok = install_snapshot(); !ok) {
      // The change itself is journaled; the journal just stays long until a retry works.
      spdlog::warn("cursor {}: compaction failed: {}", path_.string(), ok.error().message());
    }
    return;
  }
  // The snapshot is the state as of the journal's current end; the syncer thread does the rest.
  bytes image = snapshot_image();
  {
    std::lock_guard lock(mutex_);
    pending_image_ = std::move(image);
    pending_from_ = file_end_;
    compaction_in_flight_ = true;
  }
  compactor_->request(job_);
}

void cursor_file::compact_now() {
  bytes image;
  std::uint64_t from = 0;
  {
    std::lock_guard lock(mutex_);
    if (!closing_) {
      image = std::move(pending_image_);
      from = pending_from_;
    }
  }
  if (!image.empty()) {
    if (auto ok = replace_with(std::move(image), from); !ok) {
      // As inline: the journal stays long until the next compaction works.
      spdlog::warn("cursor {}: compaction failed: {}", path_.string(), ok.error().message());
    }
  }
  std::lock_guard lock(mutex_);
  compaction_in_flight_ = false;
  compaction_done_.notify_all();
}

// `image` (header and snapshot) is the state as of journal position `from`. The new file is the
// image followed by the records journalled since, so it says what the old file says.
result<void> cursor_file::replace_with(bytes image, std::uint64_t from) {
  // No sync() runs until the new file is in place and its directory entry durable, so what a
  // sync() may have covered is known: the journal up to `covered`.
  std::lock_guard one_at_a_time(sync_mutex_);
  std::shared_ptr<unique_fd> old;
  std::uint64_t covered = 0;
  {
    std::lock_guard lock(mutex_);
    if (broken_) return fail(broken_);
    auto opened = file_locked();
    if (!opened) return fail(opened.error());
    old = *opened;
    covered = file_end_;
  }
  const auto temp = temp_path(path_);
  auto fd = open_file(temp, O_RDWR | O_CREAT | O_TRUNC);
  if (!fd) return fail(fd.error());
  const std::uint64_t snapshot_size = image.size();
  auto written = write_all_at(fd->get(), image, 0);
  // Records a finished sync() may have made durable must be durable in the new file before it
  // replaces the old one.
  if (written) written = copy_range(old->get(), from, covered, fd->get(), snapshot_size);
  if (written) written = sync_data(fd->get());
  if (!written) {
    (void)remove_file(temp);
    return written;
  }
  {
    // Journal writes wait here, briefly: what they wrote since `covered` (no sync() has
    // covered it) is copied over, then the new file takes the old one's place.
    std::lock_guard lock(mutex_);
    if (broken_) written = fail(broken_);
    const std::uint64_t tail_at = snapshot_size + (covered - from);
    if (written) written = copy_range(old->get(), covered, file_end_, fd->get(), tail_at);
    if (written) written = rename_file(temp, path_);
    if (!written) {
      (void)remove_file(temp);
      return written;
    }
    dirty_ = file_end_ > covered;  // the tail just copied is not fdatasynced yet
    file_end_ = tail_at + (file_end_ - covered);
    fd_ = std::make_shared<unique_fd>(std::move(*fd));
    snapshot_bytes_ = snapshot_size;
    journal_bytes_ = file_end_ - snapshot_size;
    dir_dirty_ = true;  // until the directory fsync: a machine crash may still show the old file
  }
  if (auto ok = sync_directory(parent_directory(path_)); !ok) {
    spdlog::warn("cursor {}: directory fsync failed ({}); sync() will retry it", path_.string(),
                 ok.error().message());
    return {};
  }
  std::lock_guard lock(mutex_);
  dir_dirty_ = false;
  return {};
}

result<void> cursor_file::ack(std::uint64_t offset) {
  if (offset < state_.mark_delete || state_.acked.contains(offset)) return {};
  bytes body{record_type::ack};
  put_u64(body, offset);
  return journal(body);
}

result<void> cursor_file::ack_ranges(const offset_ranges& half_open_ranges) {
  offset_ranges news;  // clipped to what is not acknowledged yet, so replay stays cheap
  for (auto [first, last] : half_open_ranges) {
    first = std::max(first, state_.mark_delete);
    if (first < last && state_.acked.first_gap_at_or_after(first) < last) {
      news.emplace_back(first, last);
    }
  }
  if (news.empty()) return {};
  bytes body{record_type::ack_ranges};
  put_ranges(body, news);
  return journal(body);
}

result<void> cursor_file::ack_cumulative(std::uint64_t upto_inclusive) {
  if (upto_inclusive < state_.mark_delete) return {};
  bytes body{record_type::ack_cumulative};
  put_u64(body, upto_inclusive);
  return journal(body);
}

result<void> cursor_file::reset(std::uint64_t mark_delete) {
  if (mark_delete == state_.mark_delete && state_.acked.empty()) return {};
  bytes body{record_type::reset};
  put_u64(body, mark_delete);
  return journal(body);
}

result<void> cursor_file::sync() {
  std::lock_guard one_at_a_time(sync_mutex_);
  std::shared_ptr<unique_fd> fd;
  bool sync_dir = false;
  {
    std::lock_guard lock(mutex_);
    if (broken_) return fail(broken_);
    if (!dirty_ && !dir_dirty_) return {};
    auto opened = file_locked();
    if (!opened) return fail(opened.error());
    fd = *opened;
    dirty_ = false;
    sync_dir = std::exchange(dir_dirty_, false);
  }
  auto ok = sync_data(fd->get());
  if (ok && sync_dir) ok = sync_directory(parent_directory(path_));
  if (!ok) {
    spdlog::error("cursor {}: sync failed, refusing further changes: {}", path_.string(),
                  ok.error().message());
    std::lock_guard lock(mutex_);
    broken_ = ok.error();
  }
  return ok;
}

result<std::shared_ptr<unique_fd>> cursor_file::file_locked() {
  if (fd_) return fd_;
  auto fd = open_file(path_, O_RDWR);
  if (!fd) return fail(fd.error());
  fd_ = std::make_shared<unique_fd>(std::move(*fd));
  return fd_;
}

void cursor_file::release() {
  std::lock_guard lock(mutex_);
  if (!compaction_in_flight_) fd_.reset();
}

std::size_t cursor_file::open_files() const {
  std::lock_guard lock(mutex_);
  return fd_ ? 1 : 0;
}

result<void> cursor_file::remove(const std::filesystem::path& file) {
  if (auto ok = remove_file(file); !ok) return ok;
  if (auto ok = remove_file(temp_path(file)); !ok) return ok;
  std::error_code ec;
  const auto dir = parent_directory(file);
  if (!std::filesystem::exists(dir, ec)) return {};
  return sync_directory(dir);
}

}  // namespace shfn::storage
