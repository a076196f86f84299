#include "image/build.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/unique_fd.h"
#include "base/version.h"
#include "image/command.h"
#include "image/host.h"

namespace shfn::image {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  return text.str();
}

outcome<void> write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return fail(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  return {};
}

// The last `n` lines of `text`, indented, for an error message.
std::string tail(const std::string& text, std::size_t n) {
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  std::size_t count = 0;
  while (pos > 0 && count < n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
    ++count;
  }
  std::string out;
  std::istringstream in(text.substr(pos == 0 ? 0 : pos + 1));
  for (std::string line; std::getline(in, line);) out += "  | " + line + "\n";
  return out;
}

// Mount points at or below `dir`, deepest first, from /proc/self/mountinfo (its fifth field,
// with spaces and the like octal-escaped).
std::vector<std::string> mounts_below(const fs::path& dir) {
  std::vector<std::string> found;
  const auto prefix = dir.string() + "/";
  std::istringstream lines(read_text("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    std::string decoded;
    for (std::size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        decoded += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        decoded += point[i];
      }
    }
    if (decoded.starts_with(prefix)) found.push_back(decoded);
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a > b; });
  return found;
}

int remove_entry(const char* path, const struct stat*, int type, struct FTW*) {
  (type == FTW_DP ? ::rmdir(path) : ::unlink(path));
  return 0;
}

// Removes a tree of ours. A failed debootstrap can leave /proc or /sys mounted inside its
// target: those are detached first, and the walk never leaves the tree's file system, so what
// is mounted there is never deleted.
void remove_tree(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return;
  for (const auto& m : mounts_below(path)) ::umount2(m.c_str(), MNT_DETACH);
  ::nftw(path.c_str(), remove_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

// Work directories a killed build left behind (the cache's lock is held: none is in use).
void remove_stale_work(const fs::path& cache) {
  std::error_code ec;
  for (fs::directory_iterator it(cache, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().starts_with("work.")) remove_tree(it->path());
  }
}

// A private directory inside the cache (so that the minbase tarball can be hard-linked into a
// build context), removed on destruction.
class work_dir {
 public:
  static outcome<work_dir> create(const fs::path& parent) {
    std::string pattern = (parent / "work.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return fail(fmt::format("cannot create a directory in {}: {}", parent.string(),
                              std::strerror(errno)));
    }
    return work_dir(pattern);
  }
  work_dir(work_dir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  work_dir(const work_dir&) = delete;
  work_dir& operator=(const work_dir&) = delete;
  work_dir& operator=(work_dir&&) = delete;
  ~work_dir() {
    if (!path_.empty()) remove_tree(path_);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit work_dir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

class builder {
 public:
  builder(const image_plan& plan, const build_options& options, fs::path cache, fs::path work)
      : plan_(plan), options_(options), cache_(std::move(cache)), work_(std::move(work)) {}

  outcome<build_report> run() {
    const auto start = std::chrono::steady_clock::now();
    auto opened = open_log();
    if (!opened) return tl::unexpected(opened.error());
    auto minbase = ensure_minbase();
    if (!minbase) return tl::unexpected(minbase.error());
    auto base = ensure_base(*minbase);
    if (!base) return tl::unexpected(base.error());
    auto base_id = pull_base(*base);
    if (!base_id) return tl::unexpected(base_id.error());
    auto image_id = build_app(*base_id);
    if (!image_id) return tl::unexpected(image_id.error());
    report_.reference = options_.reference;
    report_.image_id = *image_id;
    report_.image_size = image_size();
    if (!options_.output.empty()) {
      auto written = write_archive();
      if (!written) return tl::unexpected(written.error());
    }
    report_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report_;
  }

 private:
  void progress(const std::string& line) const {
    if (options_.progress) options_.progress(line);
  }

  outcome<void> open_log() {
    log_path_ = cache_ / "last-build.log";
    log_.reset(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!log_.valid()) {
      return fail(fmt::format("cannot write {}: {}", log_path_.string(), std::strerror(errno)));
    }
    return {};
  }

  // Runs a tool with its output in the log (or on stderr with --verbose); fails with the log's
  // tail, which is where buildah and debootstrap say what went wrong.
  outcome<void> run_logged(const std::vector<std::string>& argv, const std::string& what) {
    std::string line = "$";
    for (const auto& a : argv) line += " " + a;
    line += "\n";
    (void)!::write(log_.get(), line.data(), line.size());
    auto r = run_command(argv, {.output_fd = options_.verbose ? -1 : log_.get()});
    if (!r) return tl::unexpected(r.error());
    if (r->exit_code == 0) return {};
    auto message = fmt::format("{} failed (exit code {})", what, r->exit_code);
    if (!options_.verbose) {
      message +=
          fmt::format(":\n{}(full log: {})", tail(read_text(log_path_), 25), log_path_.string());
    }
    return fail(message);
  }

  outcome<command_result> run_captured(const std::vector<std::string>& argv,
                                       const std::string& what) {
    auto r = run_command(argv, {.capture = true});
    if (!r) return r;
    if (r->exit_code != 0) {
      return fail(
          fmt::format("{} failed (exit code {}):\n{}", what, r->exit_code, tail(r->err, 25)));
    }
    return r;
  }

  std::vector<std::string> buildah(std::initializer_list<std::string> args) const {
    std::vector<std::string> argv = {"buildah", "--storage-driver", options_.storage_driver};
    if (!options_.root.empty()) argv.insert(argv.end(), {"--root", options_.root});
    if (!options_.runroot.empty()) argv.insert(argv.end(), {"--runroot", options_.runroot});
    argv.insert(argv.end(), args);
    return argv;
  }

  outcome<fs::path> ensure_minbase() {
    const auto path = cache_ / minbase_tar_name(plan_.base);
    std::error_code ec;
    if (fs::exists(path, ec) && !options_.refresh_base) return path;
    if (::geteuid() != 0) {
      return fail(
          fmt::format("the base root file system is built once with debootstrap, which "
                      "needs root: run this build as root (later builds reuse {})",
                      path.string()));
    }
    auto debootstrap = find_program("debootstrap");
    if (!debootstrap) debootstrap = find_program("/usr/sbin/debootstrap");
    if (!debootstrap) {
      return fail(
          "debootstrap not found, and the base root file system is built with it: "
          "install it (apt-get install debootstrap)");
    }
    progress(fmt::format("debootstrap --variant=minbase {} from {} (once: kept in {})",
                         plan_.base.suite, plan_.base.mirror, cache_.string()));
    const auto rootfs = work_ / "minbase";
    auto argv = debootstrap_argv(plan_.base, rootfs.string());
    argv[0] = *debootstrap;
    if (auto done = run_logged(argv, "debootstrap"); !done) {
      auto message = done.error().message;
      const auto own_log = read_text(rootfs / "debootstrap" / "debootstrap.log");
      if (!own_log.empty()) message += "\ndebootstrap.log ends with:\n" + tail(own_log, 15);
      return fail(message);
    }
    const auto partial = path.string() + ".partial";
    if (auto done = run_logged(minbase_tar_argv(rootfs.string(), partial), "tar"); !done) {
      return tl::unexpected(done.error());
    }
    fs::rename(partial, path, ec);
    if (ec) return fail(fmt::format("cannot rename {}: {}", partial, ec.message()));
    remove_tree(rootfs);
    return path;
  }

  outcome<fs::path> ensure_base(const fs::path& minbase) {
    const auto name = base_archive_name(plan_.base);
    const auto path = cache_ / name;
    std::error_code ec;
    if (fs::exists(path, ec) && !options_.refresh_base) {
      progress("base stage: cached (" + path.string() + ")");
      return path;
    }
    progress(fmt::format("base stage: apt-get install {} (once for this set of packages)",
                         fmt::join(plan_.base.packages, " ")));
    const auto context = work_ / "base";
    fs::create_directories(context, ec);
    const auto rootfs = context / minbase_tar_name(plan_.base);
    fs::create_hard_link(minbase, rootfs, ec);
    if (ec) fs::copy_file(minbase, rootfs, ec);
    if (ec) return fail(fmt::format("cannot copy {}: {}", minbase.string(), ec.message()));
    const auto containerfile = context / "Containerfile";
    for (const auto& [file, text] : {std::pair{context / "sources.list", sources_list(plan_.base)},
                                     std::pair{context / "dpkg-slim.cfg", dpkg_slim_config()},
                                     std::pair{containerfile, base_containerfile(plan_.base)}}) {
      if (auto w = write_text(file, text); !w) return tl::unexpected(w.error());
    }
    // The hash in the archive's name tags the image in buildah's storage too.
    const auto key = name.substr(name.rfind('-') + 1, 16);
    const auto tag = "localhost/shfn-base:" + plan_.base.suite + "-" + key;
    auto build = buildah({"build", "--isolation", "chroot", "--format", "oci", "-f",
                          containerfile.string(), "-t", tag, context.string()});
    if (auto done = run_logged(build, "buildah build (base stage)"); !done)
      return tl::unexpected(done.error());
    const auto partial = path.string() + ".partial";
    fs::remove(partial, ec);
    auto push = buildah({"push", tag, "oci-archive:" + partial + ":" + tag});
    if (auto done = run_logged(push, "buildah push (base stage)"); !done)
      return tl::unexpected(done.error());
    fs::rename(partial, path, ec);
    if (ec) return fail(fmt::format("cannot rename {}: {}", partial, ec.message()));
    return path;
  }

  // The base archive into this storage (quick when its layer is there already); its ID names it
  // in the function stage's FROM.
  outcome<std::string> pull_base(const fs::path& archive) {
    auto r = run_captured(buildah({"pull", "-q", "oci-archive:" + archive.string()}),
                          "buildah pull of the base stage");
    if (!r) return tl::unexpected(r.error());
    std::istringstream lines(r->out);
    std::string id;
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) id = line;
    }
    if (id.empty()) return fail("buildah pull printed no image ID for " + archive.string());
    return id;
  }

  outcome<void> copy_shfn(const fs::path& dest) {
    std::error_code ec;
    if (options_.strip) {
      if (auto strip = find_program("strip")) {
        auto r = run_command({*strip, "--strip-debug", "-o", dest.string(), plan_.shfn_binary},
                             {.capture = true});
        if (r && r->exit_code == 0) return {};
        progress("strip failed; copying shfn with its debug info");
      } else {
        progress("strip not found (binutils); copying shfn with its debug info");
      }
    }
    fs::copy_file(plan_.shfn_binary, dest, fs::copy_options::overwrite_existing, ec);
    if (ec) return fail(fmt::format("cannot copy {}: {}", plan_.shfn_binary, ec.message()));
    return {};
  }

  // The spec's directory as the image will hold it: modes made readable by the image's user
  // (the files stay root's), links kept.
  outcome<void> copy_app(const fs::path& app) {
    std::error_code ec;
    fs::create_directories(app, ec);
    const auto dir_mode = static_cast<fs::perms>(0755);
    fs::permissions(app, dir_mode, ec);
    for (const auto& f : plan_.app.files) {
      const auto dest = app / f.path;
      switch (f.type) {
        case app_file::kind::directory:
          fs::create_directory(dest, ec);
          if (!ec) fs::permissions(dest, dir_mode, ec);
          break;
        case app_file::kind::symlink:
          fs::create_symlink(f.link_target, dest, ec);
          break;
        case app_file::kind::file:
          fs::copy_file(f.source, dest, ec);
          if (!ec) fs::permissions(dest, static_cast<fs::perms>(f.executable ? 0755 : 0644), ec);
          break;
      }
      if (ec) return fail(fmt::format("cannot copy {}: {}", f.source.string(), ec.message()));
    }
    return {};
  }

  outcome<std::string> build_app(const std::string& base_id) {
    progress(fmt::format("function stage: shfn and {} files of {} into /app",
                         plan_.app.files.size(), plan_.app.root.string()));
    const auto context = work_ / "app-context";
    std::error_code ec;
    fs::create_directories(context, ec);
    if (auto done = copy_shfn(context / "shfn"); !done) return tl::unexpected(done.error());
    fs::permissions(context / "shfn", static_cast<fs::perms>(0755), ec);
    if (auto done = copy_app(context / "app"); !done) return tl::unexpected(done.error());
    const app_recipe recipe{.base = base_id,
                            .spec_name = plan_.spec.spec_name,
                            .functions = plan_.spec.functions,
                            .version = std::string(shfn::version())};
    const auto containerfile = context / "Containerfile";
    if (auto w = write_text(containerfile, app_containerfile(recipe)); !w) {
      return tl::unexpected(w.error());
    }
    const auto iid = work_ / "image-id";
    auto build =
        buildah({"build", "--isolation", "chroot", "--format", "oci", "--iidfile", iid.string(),
                 "-f", containerfile.string(), "-t", options_.reference, context.string()});
    if (auto done = run_logged(build, "buildah build (function stage)"); !done) {
      return tl::unexpected(done.error());
    }
    auto id = read_text(iid);
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    if (id.starts_with("sha256:")) id.erase(0, 7);
    return id;
  }

  std::string image_size() {
    auto r = run_command(buildah({"images", "--json", options_.reference}), {.capture = true});
    if (!r || r->exit_code != 0) return "?";
    auto json = nlohmann::json::parse(r->out, nullptr, false);
    if (!json.is_array() || json.empty() || !json[0].contains("size")) return "?";
    return json[0]["size"].is_string() ? json[0]["size"].get<std::string>()
                                       : json[0]["size"].dump();
  }

  outcome<void> write_archive() {
    const auto out = fs::absolute(options_.output).lexically_normal();
    const auto partial = out.string() + ".partial";
    std::error_code ec;
    fs::remove(partial, ec);
    const auto transport = options_.docker_archive ? "docker-archive:" : "oci-archive:";
    progress(fmt::format("writing {} ({})", out.string(), transport));
    auto push =
        buildah({"push", options_.reference, transport + partial + ":" + options_.reference});
    if (auto done = run_logged(push, "buildah push to " + out.string()); !done) {
      fs::remove(partial, ec);
      return done;
    }
    fs::rename(partial, out, ec);
    if (ec) return fail(fmt::format("cannot rename {}: {}", partial, ec.message()));
    report_.archive = out.string();
    report_.archive_bytes = fs::file_size(out, ec);
    return {};
  }

  const image_plan& plan_;
  const build_options& options_;
  fs::path cache_, work_, log_path_;
  unique_fd log_;
  build_report report_;
};

// Holds the cache's lock file for the whole build: two builds filling the same cache entry
// would each run debootstrap and apt for nothing.
class cache_lock {
 public:
  static outcome<cache_lock> take(const fs::path& cache,
                                  const std::function<void(const std::string&)>& progress) {
    const auto path = cache / "lock";
    unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid())
      return fail(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (progress)
        progress("waiting for another shfn image build to finish with " + cache.string());
      while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR)
          return fail(fmt::format("cannot lock {}: {}", path.string(), std::strerror(errno)));
      }
    }
    return cache_lock(std::move(fd));
  }

 private:
  explicit cache_lock(unique_fd fd) : fd_(std::move(fd)) {}
  unique_fd fd_;
};

outcome<void> check_transport_path(const std::string& path, const std::string& what) {
  if (path.find(':') != std::string::npos) {
    return fail(
        fmt::format("{} {} holds a ':', which container tools read as a separator: "
                    "choose another path",
                    what, path));
  }
  return {};
}

}  // namespace

std::string default_cache_dir() {
  if (const char* c = std::getenv("SHFN_CACHE"); c != nullptr && *c != '\0') {
    return (fs::path(c) / "image").string();
  }
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
    return (fs::path(x) / "shfn" / "image").string();
  }
  const char* home = std::getenv("HOME");
  return (fs::path(home != nullptr && *home != '\0' ? home : "/tmp") / ".cache" / "shfn" / "image")
      .string();
}

outcome<image_plan> plan_image(const config::spec_file& spec, const build_options& options) {
  image_plan plan;
  plan.shfn_binary = options.shfn_binary.empty() ? self_exe() : options.shfn_binary;
  if (plan.shfn_binary.empty() || ::access(plan.shfn_binary.c_str(), X_OK) != 0) {
    return fail(fmt::format("cannot use {} as the shfn binary: {}",
                            plan.shfn_binary.empty() ? "/proc/self/exe" : plan.shfn_binary,
                            std::strerror(errno)));
  }
  auto contents = inspect_spec(spec);
  if (!contents) return tl::unexpected(contents.error());
  plan.spec = std::move(*contents);

  app_request request{.root = plan.spec.dir};
  if (!options.output.empty()) request.exclude.push_back(options.output);
  auto tree = select_app_files(request);
  if (!tree) return tl::unexpected(tree.error());
  plan.app = std::move(*tree);
  if (auto checked = check_references(plan.spec, plan.app); !checked) {
    return tl::unexpected(checked.error());
  }

  auto host = read_host();
  if (!host) return tl::unexpected(host.error());
  auto libraries = library_packages(plan.shfn_binary);
  if (!libraries) return tl::unexpected(libraries.error());
  auto packages = merge_packages(*libraries, plan.spec.packages);
  if (!packages) return tl::unexpected(packages.error());
  plan.base = base_recipe{.suite = host->suite,
                          .arch = host->arch,
                          .mirror = options.mirror.empty() ? host->mirror : options.mirror,
                          .security_mirror = host->security_mirror,
                          .packages = std::move(*packages)};
  return plan;
}

outcome<void> check_buildah() {
  if (find_program("buildah")) return {};
  return fail(
      "buildah not found: shfn image build needs it (no Docker daemon is used): "
      "install it (apt-get install buildah)");
}

outcome<build_report> build_image(const image_plan& plan, const build_options& options) {
  if (auto ok = check_buildah(); !ok) return tl::unexpected(ok.error());
  const fs::path cache = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
  for (const auto& [path, what] : {std::pair{cache.string(), std::string("the cache directory")},
                                   std::pair{options.output, std::string("the output")}}) {
    if (auto ok = check_transport_path(path, what); !ok) return tl::unexpected(ok.error());
  }
  std::error_code ec;
  fs::create_directories(cache, ec);
  if (ec) return fail(fmt::format("cannot create {}: {}", cache.string(), ec.message()));
  auto lock = cache_lock::take(cache, options.progress);
  if (!lock) return tl::unexpected(lock.error());
  remove_stale_work(cache);
  auto work = work_dir::create(cache);
  if (!work) return tl::unexpected(work.error());
  builder b(plan, options, cache, work->path());
  return b.run();
}

}  // namespace shfn::image
