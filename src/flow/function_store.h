#pragma once
// Where `shfn run` keeps what the functions API changes, so that it outlives the process: the
// Functions made through the API, and which Functions were stopped through it.
//
//   DIR/NAME/function.yaml   a Function's spec document (JSON, which YAML reads); spec-file
//                            paths in it start at DIR/NAME
//   DIR/NAME/FILE            the executable uploaded with it (its `script: ./FILE`), if any
//   DIR/STOPPED              the names of the Functions stopped through the API, one per line
//                            (any Function's, a spec file's too)
//
// A change is staged whole in DIR/.NAME.new (each file synced), then swapped in by renames: the
// old version moves to DIR/.NAME.old, the new one into its place, DIR is synced, the old one is
// removed. So after a crash NAME is the old version or the new one, whole; open() finishes or
// undoes what a crash interrupted. Function names are DNS labels: no dots, so they never meet
// the hidden names, nor STOPPED.
//
// Not thread-safe: one owner (the runtime's executor).

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace shfn::flow {

class function_store {
 public:
  // Opens `dir` (created by the first change), and settles what a crash left half done.
  static result<std::unique_ptr<function_store>> open(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }
  // The spec files of the Functions kept, by name.
  std::vector<std::string> spec_paths() const;
  bool has(std::string_view name) const;
  // The kept Function's spec fields (its document's `spec`).
  result<nlohmann::json> spec_fields(std::string_view name) const;

  // Writes `document` (and, when `file_name` is not empty, `file` as the executable of that
  // name) to the staging directory, with the kept version's other files that the new document's
  // script still names; returns the staged document's path, to be checked before commit().
  result<std::filesystem::path> stage(std::string_view name, const nlohmann::json& document,
                                      std::string_view file_name, std::string_view file);
  // The staged version takes NAME's place, durably.
  result<void> commit(std::string_view name);
  void discard(std::string_view name);
  // NAME is gone, durably (and no longer stopped).
  result<void> remove(std::string_view name);

  bool stopped(std::string_view name) const { return stopped_.contains(std::string(name)); }
  result<void> set_stopped(std::string_view name, bool stopped);

 private:
  explicit function_store(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path kept(std::string_view name) const { return dir_ / name; }
  std::filesystem::path hidden(std::string_view name, std::string_view suffix) const;
  result<void> settle();
  result<void> save_stopped();

  std::filesystem::path dir_;
  std::set<std::string> stopped_;
};

}  // namespace shfn::flow
