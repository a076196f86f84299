#pragma once
// Where `shfn run` keeps what the functions API changes, so that it outlives the process: the
// Functions, flows and sources made through the API, and which were stopped through it.
//
//   DIR/NAME/spec.yaml   its spec file: a Function's document (JSON, which YAML reads), or the
//                        YAML a flow or source was created from, with the Functions it uses;
//                        relative paths in it start at DIR/NAME
//   DIR/NAME/...         the files uploaded with it (a Function's executable, a flow's scripts)
//   DIR/STOPPED          the names of what was stopped through the API, one per line (a spec
//                        file's Functions, flows and sources too)
//
// A change is staged whole in DIR/.NAME.new (each file synced), then swapped in by renames: the
// old version moves to DIR/.NAME.old, the new one into its place, DIR is synced, the old one is
// removed. So after a crash NAME is the old version or the new one, whole; open() finishes or
// undoes what a crash interrupted. Names are DNS labels: no dots, so they never meet the hidden
// names, nor STOPPED.
//
// Not thread-safe: one owner (the runtime's executor).

#include <sys/types.h>

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
  // NAME's spec file, kept or not.
  std::string spec_path(std::string_view name) const;
  // The spec files kept, by name.
  std::vector<std::string> spec_paths() const;
  bool has(std::string_view name) const;
  // A kept Function's spec fields (its document's `spec`).
  result<nlohmann::json> spec_fields(std::string_view name) const;

  // Whether a file may be kept under that path: relative, staying below DIR/NAME (no "..").
  static bool keepable(const std::filesystem::path& path);
  // A file of a version: its path under DIR/NAME (keepable, else stage() fails with
  // invalid_argument), its bytes, its mode.
  struct file {
    std::string path;
    std::string content;
    mode_t mode = 0644;
  };
  // Writes a version of NAME to the staging directory: `files` (its spec file among them, as
  // spec.yaml), and the kept version's files named in `carried` that `files` does not replace
  // (a Function updated without a new executable keeps its own). Returns the staged spec file's
  // path, to be checked before commit().
  result<std::filesystem::path> stage(std::string_view name, const std::vector<file>& files,
                                      const std::vector<std::string>& carried = {});
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
