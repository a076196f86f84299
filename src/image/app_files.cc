#include "image/app_files.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace shfn::image {

namespace fs = std::filesystem;

ignore_rules ignore_rules::defaults() {
  ignore_rules r;
  r.parse(".git/\nshfn-data/\n");
  for (auto& rule : r.rules_) rule.line = 0;
  return r;
}

void ignore_rules::parse(std::string_view text) {
  int line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    ignore_rule rule{.line = line_no};
    if (line[0] == '!') {
      rule.negate = true;
      line.erase(0, 1);
    }
    if (!line.empty() && line.back() == '/') {
      rule.dir_only = true;
      line.pop_back();
    }
    if (!line.empty() && line[0] == '/') {
      rule.anchored = true;
      line.erase(0, 1);
    }
    if (line.find('/') != std::string::npos) rule.anchored = true;
    if (line.empty()) continue;
    rule.pattern = std::move(line);
    rules_.push_back(std::move(rule));
  }
}

const ignore_rule* ignore_rules::decide(std::string_view rel, bool is_dir) const {
  const std::string path(rel);
  const auto slash = path.rfind('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const ignore_rule* decided = nullptr;
  for (const auto& rule : rules_) {
    if (rule.dir_only && !is_dir) continue;
    const std::string& subject = rule.anchored ? path : name;
    if (::fnmatch(rule.pattern.c_str(), subject.c_str(), FNM_PATHNAME) == 0) decided = &rule;
  }
  return decided;
}

const app_file* app_tree::find(std::string_view path) const {
  auto it =
      std::find_if(files.begin(), files.end(), [&](const app_file& f) { return f.path == path; });
  return it == files.end() ? nullptr : &*it;
}

bool path_inside(const fs::path& path, const fs::path& dir, std::string& relative) {
  const auto p = fs::absolute(path).lexically_normal();
  const auto d = fs::absolute(dir).lexically_normal();
  auto rel = p.lexically_relative(d);
  if (rel.empty()) return false;  // different roots
  const auto first = *rel.begin();
  if (first == "..") return false;
  relative = rel == "." ? "" : rel.generic_string();
  if (!relative.empty() && relative.back() == '/') relative.pop_back();
  return true;
}

namespace {

class walker {
 public:
  walker(const app_request& request, ignore_rules rules, app_tree& tree)
      : request_(request), rules_(std::move(rules)), tree_(tree) {
    for (const auto& e : request.exclude) excluded_.push_back(fs::absolute(e).lexically_normal());
  }

  outcome<void> walk(const fs::path& dir, const std::string& rel_dir) {
    std::error_code ec;
    std::vector<fs::directory_entry> entries;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      entries.push_back(*it);
    }
    if (ec)
      return fail(fmt::format("cannot read the directory {}: {}", dir.string(), ec.message()));
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return a.path().filename() < b.path().filename();
    });
    for (const auto& entry : entries) {
      auto done = visit(entry, rel_dir);
      if (!done) return done;
    }
    return {};
  }

 private:
  outcome<void> visit(const fs::directory_entry& entry, const std::string& rel_dir) {
    const auto name = entry.path().filename().string();
    const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
    std::error_code ec;
    const auto status = entry.symlink_status(ec);
    if (ec) return fail(fmt::format("cannot stat {}: {}", entry.path().string(), ec.message()));
    const bool is_dir = fs::is_directory(status);
    if (rules_.ignored(rel, is_dir) || is_excluded(entry.path())) return {};
    if (tree_.files.size() >= request_.limits.max_entries) return too_big();

    app_file f{.path = rel, .source = entry.path()};
    if (is_dir) {
      f.type = app_file::kind::directory;
      tree_.files.push_back(f);
      return walk(entry.path(), rel);
    }
    if (fs::is_symlink(status)) return add_symlink(std::move(f));
    if (!fs::is_regular_file(status)) {
      return fail(
          fmt::format("{} is not a regular file, a directory or a symlink, so it cannot go "
                      "into the image: list it in {}",
                      entry.path().string(), ignore_path()));
    }
    f.size = entry.file_size(ec);
    if (ec) return fail(fmt::format("cannot stat {}: {}", entry.path().string(), ec.message()));
    const auto exec = fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
    f.executable = (status.permissions() & exec) != fs::perms::none;
    tree_.total_bytes += f.size;
    if (tree_.total_bytes > request_.limits.max_bytes) return too_big();
    tree_.files.push_back(std::move(f));
    return {};
  }

  // A link is kept as a link, so it must point at something the image will hold: a relative
  // target that stays inside the tree.
  outcome<void> add_symlink(app_file f) {
    std::error_code ec;
    const auto target = fs::read_symlink(f.source, ec);
    if (ec)
      return fail(fmt::format("cannot read the symlink {}: {}", f.source.string(), ec.message()));
    const auto parent = fs::path(f.path).parent_path();
    const auto resolved = (parent / target).lexically_normal();
    const bool leaves = target.is_absolute() || resolved.empty() || *resolved.begin() == "..";
    if (leaves) {
      return fail(
          fmt::format("{} is a symlink to {}, which is outside the spec's directory {} and "
                      "would dangle in the image: put a copy of the file there, or list "
                      "the link in {}",
                      f.source.string(), target.string(), tree_.root.string(), ignore_path()));
    }
    f.type = app_file::kind::symlink;
    f.link_target = target.generic_string();
    tree_.files.push_back(std::move(f));
    return {};
  }

  bool is_excluded(const fs::path& p) const {
    const auto normal = fs::absolute(p).lexically_normal();
    return std::find(excluded_.begin(), excluded_.end(), normal) != excluded_.end();
  }

  tl::unexpected<error> too_big() const {
    return fail(fmt::format(
        "the spec's directory {} holds more than {} files or {} MiB, the most an image takes "
        "from it (everything in it goes to /app): put the spec and its scripts in a directory "
        "of their own, or list what to leave out in {}",
        tree_.root.string(), request_.limits.max_entries, request_.limits.max_bytes >> 20,
        ignore_path()));
  }

  std::string ignore_path() const { return (tree_.root / ignore_file_name).string(); }

  const app_request& request_;
  ignore_rules rules_;
  app_tree& tree_;
  std::vector<fs::path> excluded_;
};

outcome<ignore_rules> load_rules(const fs::path& root) {
  auto rules = ignore_rules::defaults();
  const auto path = root / ignore_file_name;
  std::error_code ec;
  if (!fs::exists(path, ec)) return rules;
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  rules.parse(text.str());
  return rules;
}

}  // namespace

outcome<app_tree> select_app_files(const app_request& request) {
  app_tree tree{.root = fs::absolute(request.root).lexically_normal()};
  if (!tree.root.has_filename()) tree.root = tree.root.parent_path();  // "dir/" → "dir"
  auto rules = load_rules(tree.root);
  if (!rules) return tl::unexpected(rules.error());
  walker w(request, std::move(*rules), tree);
  auto walked = w.walk(tree.root, "");
  if (!walked) return tl::unexpected(walked.error());
  return tree;
}

}  // namespace shfn::image
