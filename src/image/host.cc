#include "image/host.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/strings.h"
#include "image/command.h"

namespace shfn::image {

namespace fs = std::filesystem;

namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// A line of a tool's output without blanks around it (a carriage return included).
std::string_view trim_line(std::string_view s) {
  return trim(s, " \t\r");
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool usable_uri(std::string_view uri) {
  return uri.starts_with("http://") || uri.starts_with("https://") || uri.starts_with("file:/");
}

std::string strip_slash(std::string uri) {
  while (uri.size() > 1 && uri.back() == '/') uri.pop_back();
  return uri;
}

std::string find_one_line(std::string_view text, std::string_view suite) {
  for (auto raw : lines_of(text)) {
    auto w = words(trim_line(raw.substr(0, raw.find('#'))));
    if (w.empty() || w[0] != "deb") continue;
    std::size_t i = 1;
    if (i < w.size() && w[i].starts_with("[")) {  // options: [arch=amd64 signed-by=...]
      while (i < w.size() && w[i].find(']') == std::string::npos) ++i;
      ++i;
    }
    if (i + 1 < w.size() && w[i + 1] == suite && usable_uri(w[i])) return strip_slash(w[i]);
  }
  return "";
}

std::string find_deb822(std::string_view text, std::string_view suite) {
  std::map<std::string, std::string> fields;
  std::string last;
  // The paragraph read so far: its first usable URI if it serves `suite`, else "".
  auto decide = [&]() -> std::string {
    const auto types = words(fields["types"]);
    const auto suites = words(fields["suites"]);
    const bool wanted = fields["enabled"] != "no" &&
                        std::find(types.begin(), types.end(), "deb") != types.end() &&
                        std::find(suites.begin(), suites.end(), suite) != suites.end();
    const auto uris = words(fields["uris"]);
    fields.clear();
    if (!wanted) return "";
    auto uri = std::find_if(uris.begin(), uris.end(), [](const auto& u) { return usable_uri(u); });
    return uri == uris.end() ? "" : strip_slash(*uri);
  };
  for (auto raw : lines_of(text)) {
    if (!raw.empty() && raw[0] == '#') continue;
    if (trim_line(raw).empty()) {
      if (auto m = decide(); !m.empty()) return m;
      continue;
    }
    if (raw[0] == ' ' || raw[0] == '\t') {  // a continuation line
      if (!last.empty()) fields[last] += " " + std::string(trim_line(raw));
      continue;
    }
    const auto colon = raw.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key(trim_line(raw.substr(0, colon)));
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    fields[key] = std::string(trim_line(raw.substr(colon + 1)));
    last = key;
  }
  return decide();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  return text.str();
}

// The mirror serving `suite` in the host's apt sources, "" if none.
std::string host_mirror(std::string_view suite) {
  if (auto m = find_mirror(read_text("/etc/apt/sources.list"), suite, false); !m.empty()) return m;
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it("/etc/apt/sources.list.d", ec), end; !ec && it != end;
       it.increment(ec)) {
    files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const auto ext = f.extension();
    if (ext != ".list" && ext != ".sources") continue;
    if (auto m = find_mirror(read_text(f), suite, ext == ".sources"); !m.empty()) return m;
  }
  return "";
}

}  // namespace

outcome<std::vector<std::string>> parse_ldd(std::string_view text) {
  std::vector<std::string> paths, missing;
  for (auto raw : lines_of(text)) {
    auto line = trim_line(raw);
    if (auto arrow = line.find(" => "); arrow != std::string_view::npos) {
      auto target = trim_line(line.substr(arrow + 4));
      if (target.starts_with("not found")) {
        missing.emplace_back(trim_line(line.substr(0, arrow)));
        continue;
      }
      line = target;
    }
    if (!line.starts_with("/")) continue;  // the vDSO, "statically linked"
    paths.emplace_back(trim_line(line.substr(0, line.find(" ("))));
  }
  if (!missing.empty()) {
    std::string names;
    for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
    return fail("shfn links libraries this machine does not have (ldd: not found): " + names);
  }
  return paths;
}

std::vector<std::string> path_aliases(const std::string& path) {
  std::vector<std::string> out{path};
  if (path.starts_with("/usr/")) {
    out.push_back(path.substr(4));
  } else if (path.starts_with("/lib") || path.starts_with("/bin/") || path.starts_with("/sbin/")) {
    out.push_back("/usr" + path);
  }
  return out;
}

std::map<std::string, std::string> parse_dpkg_search(std::string_view text) {
  std::map<std::string, std::string> owners;
  for (auto line : lines_of(text)) {
    // "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3"; "a, b: /path" when shared.
    if (line.starts_with("diversion by ")) continue;
    const auto sep = line.find(": /");
    if (sep == std::string_view::npos) continue;
    auto package = line.substr(0, sep);
    package = package.substr(0, package.find(','));
    package = package.substr(0, package.find(':'));
    owners.emplace(std::string(trim_line(line.substr(sep + 2))), std::string(trim_line(package)));
  }
  return owners;
}

outcome<std::vector<std::string>> packages_for(
    const std::vector<std::string>& libraries, const std::map<std::string, std::string>& owners,
    const std::map<std::string, std::string>& real_paths) {
  std::vector<std::string> packages, orphans;
  for (const auto& lib : libraries) {
    auto candidates = path_aliases(lib);
    if (auto real = real_paths.find(lib); real != real_paths.end()) {
      for (const auto& a : path_aliases(real->second)) candidates.push_back(a);
    }
    auto owner = std::find_if(candidates.begin(), candidates.end(),
                              [&](const std::string& c) { return owners.count(c) > 0; });
    if (owner == candidates.end()) {
      orphans.push_back(lib);
    } else {
      packages.push_back(owners.at(*owner));
    }
  }
  if (!orphans.empty()) {
    std::string list;
    for (const auto& o : orphans) list += (list.empty() ? "" : ", ") + o;
    return fail(
        fmt::format("shfn links libraries that no Debian package holds ({}), so the image "
                    "cannot install them: build shfn against Debian's packages "
                    "(scripts/setup.sh --build), or use deploy/Dockerfile",
                    list));
  }
  std::sort(packages.begin(), packages.end());
  packages.erase(std::unique(packages.begin(), packages.end()), packages.end());
  return packages;
}

std::map<std::string, std::string> parse_os_release(std::string_view text) {
  std::map<std::string, std::string> fields;
  for (auto raw : lines_of(text)) {
    auto line = trim_line(raw);
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    auto value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    fields.emplace(std::string(line.substr(0, eq)), std::string(value));
  }
  return fields;
}

std::string find_mirror(std::string_view text, std::string_view suite, bool deb822) {
  return deb822 ? find_deb822(text, suite) : find_one_line(text, suite);
}

outcome<host_facts> read_host() {
  auto release = read_text("/etc/os-release");
  if (release.empty()) release = read_text("/usr/lib/os-release");
  auto os = parse_os_release(release);
  if (os["ID"] != "debian" || os["VERSION_CODENAME"].empty()) {
    const auto name = os["PRETTY_NAME"].empty() ? std::string("not Debian") : os["PRETTY_NAME"];
    return fail(
        fmt::format("shfn image build runs on Debian (the image is the same Debian as the "
                    "machine, with the packages the shfn binary links); this machine is "
                    "{}: use deploy/Dockerfile instead",
                    name));
  }
  host_facts facts{.suite = os["VERSION_CODENAME"]};
  auto arch = run_command({"dpkg", "--print-architecture"}, {.capture = true});
  if (!arch) return tl::unexpected(arch.error());
  facts.arch = std::string(trim_line(arch->out.substr(0, arch->out.find('\n'))));
  if (arch->exit_code != 0 || facts.arch.empty()) {
    return fail("dpkg --print-architecture failed: " + arch->err);
  }
  facts.mirror = host_mirror(facts.suite);
  if (facts.mirror.empty()) facts.mirror = "http://deb.debian.org/debian";
  facts.security_mirror = host_mirror(facts.suite + "-security");
  if (facts.security_mirror.empty())
    facts.security_mirror = "http://deb.debian.org/debian-security";
  return facts;
}

outcome<std::vector<std::string>> library_packages(const std::string& binary) {
  auto ldd = run_command({"ldd", binary}, {.capture = true});
  if (!ldd) return tl::unexpected(ldd.error());
  if (ldd->exit_code != 0) {
    if (ldd->out.find("not a dynamic executable") != std::string::npos ||
        ldd->err.find("not a dynamic executable") != std::string::npos) {
      return std::vector<std::string>{};  // static: nothing to install
    }
    return fail(fmt::format("ldd {} failed: {}", binary, trim_line(ldd->err)));
  }
  auto libraries = parse_ldd(ldd->out);
  if (!libraries) return tl::unexpected(libraries.error());

  std::vector<std::string> query = {"dpkg-query", "-S"};
  std::set<std::string> asked;
  std::map<std::string, std::string> real_paths;
  for (const auto& lib : *libraries) {
    std::error_code ec;
    const auto real = fs::canonical(lib, ec);
    if (!ec && real.string() != lib) real_paths[lib] = real.string();
    auto candidates = path_aliases(lib);
    if (!ec) {
      for (const auto& a : path_aliases(real.string())) candidates.push_back(a);
    }
    for (const auto& c : candidates) {
      if (asked.insert(c).second) query.push_back(c);
    }
  }
  if (libraries->empty()) return std::vector<std::string>{};
  // Exits 1 when some of the aliases are unknown, which is expected: only the output matters.
  auto search = run_command(query, {.capture = true});
  if (!search) return tl::unexpected(search.error());
  return packages_for(*libraries, parse_dpkg_search(search->out), real_paths);
}

}  // namespace shfn::image
