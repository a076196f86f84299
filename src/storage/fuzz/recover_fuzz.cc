// libFuzzer target: any bytes as a log's active segment, and as a cursor file, must be
// recovered or refused with an error when opened (storage/log.h, storage/cursor.h, "Recovery"):
// never a crash, a hang or an over-read, and what recovery keeps reads back whole.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "storage/cursor.h"
#include "storage/log.h"

namespace {

// Under $TMPDIR (scripts/fuzz.sh points it at its work directory): libFuzzer ends the process
// without running destructors.
const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "shfn-recover-fuzz.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    return std::filesystem::path(pattern);
  }();
  return dir;
}

void write(const std::filesystem::path& file, const std::uint8_t* data, std::size_t size) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace

// Recovery logs what it drops or refuses; thousands of inputs a second would drown the findings.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shfn::storage;
  const auto dir = scratch();
  std::filesystem::remove_all(dir / "log");
  write(dir / "log" / "00000000000000000000.seg", data, size);
  auto opened = log::open(dir / "log", log_options{.preallocate_bytes = 0});
  if (opened) {
    auto& l = **opened;
    for (std::uint64_t at = l.start_offset(); at < l.end_offset();) {
      auto entries = l.read(at, 64, 1 << 20);
      if (!entries) std::abort();  // recovery kept it, so it must read back
      if (entries->empty()) break;
      at = entries->back().offset + 1;
    }
  }
  std::filesystem::remove(dir / "cursor.tmp");
  write(dir / "cursor", data, size);
  (void)cursor_file::open(dir / "cursor");
  return 0;
}
