#include "flow/function_store.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "storage/file.h"

namespace shfn::flow {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kept_spec = "spec.yaml";
constexpr std::string_view stopped_file = "STOPPED";

result<std::string> read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::make_error_code(std::errc::no_such_file_or_directory));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

result<void> write_durably(const fs::path& path, std::string_view data, mode_t mode) {
  const byte_view bytes(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  return storage::replace_file_durably(path, bytes, mode);
}

result<void> remove_tree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return fail(ec);
  return {};
}

}  // namespace

bool function_store::keepable(const fs::path& path) {
  if (path.empty() || path.is_absolute()) return false;
  return std::ranges::none_of(path, [](const fs::path& part) { return part == ".."; });
}

result<std::unique_ptr<function_store>> function_store::open(fs::path dir) {
  std::unique_ptr<function_store> store(new function_store(std::move(dir)));
  if (!fs::exists(store->dir_)) return store;  // made by the first change (a bad spec makes none)
  if (auto settled = store->settle(); !settled) return fail(settled.error());
  if (auto text = read_whole(store->dir_ / stopped_file)) {
    std::istringstream lines(*text);
    for (std::string name; std::getline(lines, name);)
      if (!name.empty()) store->stopped_.insert(name);
  }
  return store;
}

fs::path function_store::hidden(std::string_view name, std::string_view suffix) const {
  return dir_ / ("." + std::string(name) + "." + std::string(suffix));
}

// A crash between commit()'s renames leaves .NAME.old without NAME: it is put back. Anything
// else hidden is a staging or a removal that did not finish: it goes.
result<void> function_store::settle() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with('.')) continue;
    const std::string name = file.substr(1, file.rfind('.') - 1);
    if (file.ends_with(".old") && !fs::exists(kept(name))) {
      if (auto back = storage::rename_file(entry.path(), kept(name)); !back) return back;
    } else if (auto gone = remove_tree(entry.path()); !gone) {
      return gone;
    }
  }
  if (ec) return fail(ec);
  return storage::sync_directory(dir_);
}

std::string function_store::spec_path(std::string_view name) const {
  return (kept(name) / kept_spec).string();
}

std::vector<std::string> function_store::spec_paths() const {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with('.') && fs::exists(entry.path() / kept_spec)) names.insert(file);
  }
  std::vector<std::string> out;
  for (const auto& name : names) out.push_back(spec_path(name));
  return out;
}

bool function_store::has(std::string_view name) const {
  return fs::exists(kept(name) / kept_spec);
}

result<nlohmann::json> function_store::spec_fields(std::string_view name) const {
  auto text = read_whole(kept(name) / kept_spec);
  if (!text) return fail(text.error());
  auto document = nlohmann::json::parse(*text, nullptr, false);
  if (!document.is_object() || !document.contains("spec"))
    return fail(std::make_error_code(std::errc::invalid_argument));
  return document["spec"];
}

result<fs::path> function_store::stage(std::string_view name, const std::vector<file>& files,
                                       const std::vector<std::string>& carried) {
  if (auto made = storage::create_directory_durably(dir_); !made) return fail(made.error());
  const fs::path staging = hidden(name, "new");
  if (auto cleared = remove_tree(staging); !cleared) return fail(cleared.error());
  if (auto made = storage::create_directory_durably(staging); !made) return fail(made.error());
  std::set<std::string> written;
  for (const auto& f : files) {
    if (!keepable(f.path)) return fail(std::make_error_code(std::errc::invalid_argument));
    if (auto made = storage::create_directory_durably((staging / f.path).parent_path()); !made)
      return fail(made.error());
    if (auto w = write_durably(staging / f.path, f.content, f.mode); !w) return fail(w.error());
    written.insert(f.path);
  }
  for (const auto& path : carried) {
    if (written.contains(path)) continue;
    auto old = read_whole(kept(name) / path);
    if (!old) continue;  // not there: loading the spec file says so
    if (auto w = write_durably(staging / path, *old, 0755); !w) return fail(w.error());
  }
  return staging / kept_spec;
}

result<void> function_store::commit(std::string_view name) {
  const fs::path old = hidden(name, "old");
  if (fs::exists(kept(name))) {
    if (auto moved = storage::rename_file(kept(name), old); !moved) return moved;
  }
  if (auto moved = storage::rename_file(hidden(name, "new"), kept(name)); !moved) return moved;
  if (auto synced = storage::sync_directory(dir_); !synced) return synced;
  return remove_tree(old);
}

void function_store::discard(std::string_view name) {
  (void)remove_tree(hidden(name, "new"));
}

result<void> function_store::remove(std::string_view name) {
  const fs::path gone = hidden(name, "gone");
  if (auto moved = storage::rename_file(kept(name), gone); !moved) return moved;
  if (auto synced = storage::sync_directory(dir_); !synced) return synced;
  (void)remove_tree(gone);  // settle() takes what is left
  if (stopped(name)) return set_stopped(name, false);
  return {};
}

result<void> function_store::set_stopped(std::string_view name, bool stopped) {
  if (stopped) {
    stopped_.insert(std::string(name));
  } else {
    stopped_.erase(std::string(name));
  }
  return save_stopped();
}

result<void> function_store::save_stopped() {
  if (auto made = storage::create_directory_durably(dir_); !made) return fail(made.error());
  std::string text;
  for (const auto& name : stopped_) text += name + "\n";
  return write_durably(dir_ / stopped_file, text, 0644);
}

}  // namespace shfn::flow
