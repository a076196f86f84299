#include "storage/compacted_log.h"

#include <charconv>
#include <fstream>
#include <string>
#include <system_error>

#include "storage/encoding.h"
#include "storage/errc.h"
#include "storage/file.h"
#include "storage/layout.h"

namespace shfn::storage {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t offset_prefix = 8;

struct pointer {
  std::uint64_t generation = 0;
  std::uint64_t horizon = 0;
};

// COMPACTED's "<generation> <horizon>\n".
result<std::optional<pointer>> read_pointer(const fs::path& topic_dir) {
  const fs::path file = compacted_file(topic_dir);
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(file, ec) && !ec) return std::optional<pointer>();
    return fail(ec ? ec : std::make_error_code(std::errc::io_error));
  }
  pointer p;
  std::string extra;
  if (!(in >> p.generation >> p.horizon) || (in >> extra)) return fail(errc::bad_compacted_file);
  return std::optional<pointer>(p);
}

// A record of the view as the topic's entry: its offset out of the record's first 8 bytes.
bool strip_offset(entry& record) {
  if (record.data.size() < offset_prefix) return false;
  record.offset = load_u64(record.data.data());
  record.data.erase(record.data.begin(), record.data.begin() + offset_prefix);
  return true;
}

std::optional<std::uint64_t> generation_of(const fs::path& dir) {
  const std::string name = dir.filename().string();
  if (!name.starts_with(compacted_dir_prefix)) return std::nullopt;
  const std::string_view digits = std::string_view(name).substr(compacted_dir_prefix.size());
  std::uint64_t generation = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), generation);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return generation;
}

}  // namespace

compacted_log::compacted_log(std::unique_ptr<log> records, std::uint64_t generation,
                             std::uint64_t horizon)
    : records_(std::move(records)), generation_(generation), horizon_(horizon) {}

result<std::shared_ptr<const compacted_log>> compacted_log::open(const fs::path& topic_dir) {
  auto named = read_pointer(topic_dir);
  if (!named) return fail(named.error());
  const std::optional<std::uint64_t> keep =
      *named ? std::optional((*named)->generation) : std::nullopt;
  // A pointer to a generation that is not there deletes nothing: the others may be all there is.
  std::error_code ec;
  if (keep && !fs::is_directory(compacted_dir(topic_dir, *keep), ec)) {
    return fail(errc::bad_compacted_file);
  }
  if (auto removed = remove_other_generations(topic_dir, keep); !removed) {
    return fail(removed.error());
  }
  if (!*named) return std::shared_ptr<const compacted_log>();
  const fs::path dir = compacted_dir(topic_dir, (*named)->generation);
  auto records = log::open(dir);
  if (!records) return fail(records.error());
  return std::shared_ptr<const compacted_log>(
      new compacted_log(std::move(*records), (*named)->generation, (*named)->horizon));
}

result<void> compacted_log::remove_other_generations(const fs::path& topic_dir,
                                                     std::optional<std::uint64_t> keep) {
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(topic_dir, ec)) {
    auto generation = generation_of(item.path());
    if (!generation || generation == keep) continue;
    if (auto removed = log::remove(item.path()); !removed) return removed;
  }
  if (ec && ec != std::errc::no_such_file_or_directory) return fail(ec);
  if (!keep) {
    fs::remove(compacted_file(topic_dir), ec);
    if (ec) return fail(ec);
  }
  return {};
}

result<std::uint64_t> compacted_log::lower_bound(std::uint64_t from) const {
  std::uint64_t low = records_->start_offset();
  std::uint64_t high = records_->end_offset();
  while (low < high) {
    const std::uint64_t middle = low + (high - low) / 2;
    auto probe = records_->read(middle, 1, offset_prefix);
    if (!probe) return fail(probe.error());
    if (probe->empty() || probe->front().data.size() < offset_prefix) {
      return fail(errc::bad_compacted_file);
    }
    if (load_u64(probe->front().data.data()) < from) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

result<std::vector<entry>> compacted_log::read(std::uint64_t from, std::size_t max_entries,
                                               std::size_t max_bytes) const {
  auto first = lower_bound(from);
  if (!first) return fail(first.error());
  auto records = records_->read(*first, max_entries, max_bytes);
  if (!records) return fail(records.error());
  for (auto& record : *records) {
    if (!strip_offset(record)) return fail(errc::bad_compacted_file);
  }
  return records;
}

result<std::optional<entry>> compacted_log::last() const {
  if (records_->end_offset() == records_->start_offset()) return std::optional<entry>();
  auto records = records_->read(records_->end_offset() - 1, 1, 0);
  if (!records) return fail(records.error());
  if (records->empty() || !strip_offset(records->front())) return fail(errc::bad_compacted_file);
  return std::optional<entry>(std::move(records->front()));
}

// ------------------------------------------------------------------------------------ writer

compacted_log::writer::writer(fs::path topic_dir, std::uint64_t generation,
                              std::unique_ptr<log> records)
    : topic_dir_(std::move(topic_dir)), generation_(generation), records_(std::move(records)) {}

result<compacted_log::writer> compacted_log::writer::begin(const fs::path& topic_dir,
                                                           std::uint64_t generation) {
  const fs::path dir = compacted_dir(topic_dir, generation);
  // A directory of this generation can only be what an interrupted compaction left.
  if (auto removed = log::remove(dir); !removed) return fail(removed.error());
  auto records = log::open(dir);
  if (!records) return fail(records.error());
  return writer(topic_dir, generation, std::move(*records));
}

result<void> compacted_log::writer::append(std::uint64_t offset, std::uint64_t publish_time,
                                           byte_view data) {
  record_.clear();
  put_u64(record_, offset);
  put_bytes(record_, data);
  auto appended = records_->append(record_, publish_time);
  if (!appended) return fail(appended.error());
  return {};
}

result<std::shared_ptr<const compacted_log>> compacted_log::writer::commit(std::uint64_t horizon) {
  if (auto synced = records_->sync(); !synced) return fail(synced.error());
  const std::string named = std::to_string(generation_) + " " + std::to_string(horizon) + "\n";
  if (auto written = replace_file_durably(compacted_file(topic_dir_), as_bytes(named)); !written) {
    return fail(written.error());
  }
  return std::shared_ptr<const compacted_log>(
      new compacted_log(std::move(records_), generation_, horizon));
}

}  // namespace shfn::storage
