#pragma once
// Where the broker's files live under its data directory. Every name component is
// percent-encoded (encode_path_component), so any valid Pulsar name is one safe path component
// and none can be "..", hide a file or collide with a ".partitions" file:
//
//   DATA/LOCK                                              the directory lock (dir_lock.h)
//   DATA/RESERVE                                           space set aside for a full disk
//   DATA/topics/<domain>/<tenant>/<namespace>/<local>/     one topic or partition
//       log/                                               its segments (log.h)
//       cursors/<subscription>.cursor                      durable subscriptions (cursor.h)
//       readers/<subscription>.cursor                      readers, removed when loaded again
//       TERMINATED                                         the topic was terminated: its last
//                                                          offset, as text
//       COMPACTED                                          the compacted view in use
//                                                          (compacted_log.h)
//       compacted-<generation>/                            its records, a log of their own
//   DATA/topics/<domain>/<tenant>/<namespace>/<local>.partitions   a partitioned topic's count
//   DATA/schemas/<tenant>/<namespace>/<local>.json         a topic's schema versions, shared by
//                                                          its partitions and both domains
//
// <domain> is "persistent" or "non-persistent"; a partition's <local> is "<name>-partition-N".
// Pure: paths only, no I/O.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "wire/topic_name.h"

namespace shfn::storage {

std::string encode_path_component(std::string_view name);
// nullopt for what encode_path_component cannot have written (a stray file's name).
std::optional<std::string> decode_path_component(std::string_view encoded);

// DATA/topics/<domain>/<tenant>/<namespace>
std::filesystem::path namespace_dir(const std::filesystem::path& data_dir, bool persistent,
                                    std::string_view tenant, std::string_view ns);
// A topic's (or a partition's) own directory.
std::filesystem::path topic_dir(const std::filesystem::path& data_dir, const wire::topic_name& t);
// The file holding a partitioned topic's partition count (absent: not partitioned).
std::filesystem::path partitions_file(const std::filesystem::path& data_dir,
                                      const wire::topic_name& t);
inline constexpr std::string_view partitions_suffix = ".partitions";
// The file of a topic's schema versions (broker/schema_registry.h), the same for every partition.
std::filesystem::path schema_file(const std::filesystem::path& data_dir, const wire::topic_name& t);

// The mark of a terminated topic in `topic_dir`.
std::filesystem::path terminated_file(const std::filesystem::path& topic_dir);

// The compacted view of a topic (compacted_log.h): the file naming the generation in use, and
// each generation's directory.
std::filesystem::path compacted_file(const std::filesystem::path& topic_dir);
std::filesystem::path compacted_dir(const std::filesystem::path& topic_dir,
                                    std::uint64_t generation);
inline constexpr std::string_view compacted_dir_prefix = "compacted-";

// A subscription's cursor file in `topic_dir`: a durable one's, or a reader's (`reader`).
std::filesystem::path cursor_path(const std::filesystem::path& topic_dir,
                                  std::string_view subscription, bool reader = false);
inline constexpr std::string_view cursor_suffix = ".cursor";

}  // namespace shfn::storage
