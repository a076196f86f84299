#pragma once
// Which files of the host go into an image's /app: the spec's directory, as it is, minus what
// `.shfnignore` (beside the spec) and two built-in rules leave out. Copying the whole directory,
// not only the files the spec names, is what makes `command: ./helper.sh` and scripts that
// source a neighbour work in the image as they do on the host; the limits catch a spec that sits
// in a big directory (a repository root) by mistake.
//
// Reads the directory tree; nothing else. Any thread.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "image/error.h"

namespace shfn::image {

// `.shfnignore`: a subset of gitignore. One pattern per line; blank lines and lines starting
// with '#' are skipped. `*`, `?` and `[...]` as in fnmatch(3) (`*` stops at '/'); a trailing '/'
// matches directories only; a pattern with a '/' elsewhere matches the path from the spec's
// directory, one without matches the name at any depth; a leading '!' takes a path back in.
// The last matching line wins; nothing inside a left-out directory can be taken back.
struct ignore_rule {
  std::string pattern;
  bool negate = false;
  bool dir_only = false;
  bool anchored = false;
  int line = 0;  // in .shfnignore; 0 for the built-in rules
};

class ignore_rules {
 public:
  // The built-in rules: `.git/` and `shfn-data/` (the embedded broker's default data directory,
  // left behind by `shfn run` in the spec's directory).
  static ignore_rules defaults();
  // Appends the rules of a `.shfnignore` text.
  void parse(std::string_view text);

  // The rule that decides `rel` ('/'-separated, relative to the spec's directory), or nullptr
  // when none matches.
  const ignore_rule* decide(std::string_view rel, bool is_dir) const;
  bool ignored(std::string_view rel, bool is_dir) const {
    const auto* r = decide(rel, is_dir);
    return r != nullptr && !r->negate;
  }

 private:
  std::vector<ignore_rule> rules_;
};

inline constexpr std::string_view ignore_file_name = ".shfnignore";

struct app_file {
  enum class kind { file, directory, symlink };
  std::string path;  // relative to the spec's directory, '/'-separated: "lib/util.sh"
  kind type = kind::file;
  std::filesystem::path source;  // on the host
  std::string link_target;       // symlinks: as stored in the link (relative, inside the tree)
  std::uintmax_t size = 0;       // regular files
  bool executable = false;       // regular files: any execute bit
};

struct app_limits {
  std::uintmax_t max_bytes = 100ull << 20;
  std::size_t max_entries = 10000;
};

struct app_tree {
  std::filesystem::path root;   // the spec's directory, absolute
  std::vector<app_file> files;  // depth first, names sorted: a directory before its content
  std::uintmax_t total_bytes = 0;

  const app_file* find(std::string_view path) const;
};

struct app_request {
  std::filesystem::path root;  // the spec's directory
  // Absolute paths left out whatever the rules say (the archive being written, when it is
  // written inside the spec's directory).
  std::vector<std::filesystem::path> exclude;
  app_limits limits;
};

// Walks `root` with `.shfnignore` applied. Fails on: a symlink whose target is absolute or
// leaves the tree (it would dangle in the image), a special file (socket, FIFO, device), an
// unreadable directory, a tree past the limits.
outcome<app_tree> select_app_files(const app_request& request);

// Whether `path` is `dir` or below it; if so, `relative` is set to the path from `dir`
// ('/'-separated; "" for `dir` itself). Lexical: both are made absolute and normalised,
// symlinks are not followed, as the spec loader does for `script`.
bool path_inside(const std::filesystem::path& path, const std::filesystem::path& dir,
                 std::string& relative);

}  // namespace shfn::image
