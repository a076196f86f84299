#include "image/recipe.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>

namespace shfn::image {

namespace {

// A JSON array of strings: the exec form of RUN, ENTRYPOINT and CMD.
std::string exec_form(const std::vector<std::string>& argv) {
  return nlohmann::json(argv).dump();
}

std::string run(const std::vector<std::string>& argv) {
  return "RUN " + exec_form(argv) + "\n";
}

// A double-quoted Containerfile value. Every value passed here is already restricted to safe
// characters (package, function and spec names); escaping is a second line of defence.
std::string label_value(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') continue;
    out += c;
  }
  return out + "\"";
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : std::string(sep)) + i;
  return out;
}

}  // namespace

std::vector<std::string> fixed_packages() {
  return {"ca-certificates", "tini"};
}

bool valid_package_name(std::string_view name) {
  static const std::regex re("[a-z0-9][a-z0-9+.-]+");
  return std::regex_match(name.begin(), name.end(), re);
}

outcome<std::vector<std::string>> merge_packages(const std::vector<std::string>& libraries,
                                                 const std::vector<std::string>& extra) {
  std::vector<std::string> all = fixed_packages();
  all.insert(all.end(), libraries.begin(), libraries.end());
  all.insert(all.end(), extra.begin(), extra.end());
  for (const auto& p : all) {
    if (!valid_package_name(p)) return fail(fmt::format("invalid Debian package name \"{}\"", p));
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

std::string sources_list(const base_recipe& r) {
  std::string out =
      fmt::format("deb {} {} main\ndeb {} {}-updates main\n", r.mirror, r.suite, r.mirror, r.suite);
  if (!r.security_mirror.empty()) {
    out += fmt::format("deb {} {}-security main\n", r.security_mirror, r.suite);
  }
  return out;
}

std::string dpkg_slim_config() {
  return "# Written by shfn image build: no documentation, manual pages or translations.\n"
         "path-exclude /usr/share/doc/*\n"
         "path-include /usr/share/doc/*/copyright\n"
         "path-exclude /usr/share/man/*\n"
         "path-exclude /usr/share/info/*\n"
         "path-exclude /usr/share/locale/*\n";
}

std::string base_containerfile(const base_recipe& r) {
  std::vector<std::string> install = {
      "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
      "-q",  "--no-install-recommends"};
  install.insert(install.end(), r.packages.begin(), r.packages.end());
  const auto uid = std::to_string(user_id);
  std::string out = fmt::format(
      "# The base stage of `shfn image build`: Debian {} (debootstrap --variant=minbase), the\n"
      "# packages shfn and the spec need, the user {} ({}). Generated; cached by its hash.\n"
      "FROM scratch\n"
      "ADD {} /\n"
      "COPY sources.list /etc/apt/sources.list\n"
      "COPY dpkg-slim.cfg /etc/dpkg/dpkg.cfg.d/shfn-slim\n"
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8\n",
      r.suite, user_name, user_id, minbase_tar_name(r));
  out += run({"apt-get", "update", "-q"});
  out += run({"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "upgrade", "-y", "-q"});
  out += run(install);
  out += run({"apt-get", "clean"});
  // What the slim configuration would have left out of minbase's own packages, and apt's lists.
  out += run({"find", "/var/lib/apt/lists", "/usr/share/doc", "/usr/share/man", "/usr/share/info",
              "/usr/share/locale", "-mindepth", "1", "-not", "-type", "d", "-not", "-name",
              "copyright", "-delete"});
  out += run({"groupadd", "--gid", uid, std::string(user_name)});
  out += run({"useradd", "--uid", uid, "--gid", uid, "--create-home", "--home-dir",
              "/home/" + std::string(user_name), "--shell", "/bin/bash", std::string(user_name)});
  out += run({"install", "-d", "-o", uid, "-g", uid, "-m", "0755", std::string(data_dir)});
  return out;
}

std::string minbase_tar_name(const base_recipe& r) {
  return fmt::format("debian-{}-{}-minbase.tar", r.suite, r.arch);
}

std::string base_archive_name(const base_recipe& r) {
  const auto key = fnv1a_hex(base_containerfile(r) + '\0' + sources_list(r) + '\0' +
                             dpkg_slim_config() + '\0' + r.mirror);
  return fmt::format("base-{}-{}-{}.oci.tar", r.suite, r.arch, key);
}

std::vector<std::string> debootstrap_argv(const base_recipe& r, const std::string& target) {
  return {"debootstrap", "--variant=minbase", "--arch=" + r.arch, r.suite, target, r.mirror};
}

std::vector<std::string> minbase_tar_argv(const std::string& rootfs, const std::string& tar_path) {
  return {"tar",
          "--numeric-owner",
          "--exclude=./var/cache/apt/archives/*.deb",
          "--exclude=./var/lib/apt/lists/*",
          "--exclude=./dev/*",
          "-C",
          rootfs,
          "-cf",
          tar_path,
          "."};
}

std::vector<std::string> entrypoint(std::string_view spec_name) {
  return {std::string(tini_path), "--", std::string(shfn_path), "run",
          std::string(app_dir) + "/" + std::string(spec_name)};
}

std::vector<std::string> default_args() {
  return {"--admin", fmt::format("0.0.0.0:{}", admin_port)};
}

std::string app_containerfile(const app_recipe& r) {
  const auto spec = std::string(app_dir) + "/" + r.spec_name;
  const auto uid = std::to_string(user_id);
  std::string out = fmt::format(
      "# The function stage of `shfn image build` for {}. Generated.\n"
      "FROM {}\n"
      "COPY shfn {}\n"
      "COPY app/ {}/\n"
      "WORKDIR {}\n"
      "ENV SHFN_DATA={}\n"
      "USER {}:{}\n",
      r.spec_name, r.base, shfn_path, app_dir, app_dir, data_dir, uid, uid);
  // Fails the build, not the first pod, when shfn misses a library in the image or the spec
  // cannot find its scripts under /app, and proves the user can read them.
  out += run({std::string(shfn_path), "validate", spec});
  out += fmt::format("EXPOSE {}\n", admin_port);
  out += fmt::format("VOLUME [\"{}\"]\n", data_dir);
  out += fmt::format(
      "LABEL org.opencontainers.image.title={} org.opencontainers.image.description={} "
      "org.opencontainers.image.version={} dev.shfn.spec={} dev.shfn.functions={}\n",
      label_value(r.spec_name), label_value("shfn functions: " + join(r.functions, ", ")),
      label_value(r.version), label_value(spec), label_value(join(r.functions, ",")));
  out += "ENTRYPOINT " + exec_form(entrypoint(r.spec_name)) + "\n";
  out += "CMD " + exec_form(default_args()) + "\n";
  return out;
}

bool valid_spec_name(std::string_view name) {
  static const std::regex re("[A-Za-z0-9_][A-Za-z0-9_.-]*");
  return name.size() <= 200 && std::regex_match(name.begin(), name.end(), re);
}

outcome<std::string> normalize_reference(std::string_view reference) {
  // distribution/reference's grammar, without digests.
  static const std::regex domain(
      R"(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(:[0-9]+)?)");
  static const std::regex component(R"([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)");
  static const std::regex tag(R"([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})");
  const auto bad = [&](std::string_view why) {
    return fail(
        fmt::format("invalid image name \"{}\": {} (expected [REGISTRY/]NAME[:TAG], "
                    "e.g. registry.example.com/team/reverse:1.0)",
                    reference, why));
  };
  std::string name(reference), tag_part = "latest";
  const auto slash = name.rfind('/');
  const auto colon = name.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    tag_part = name.substr(colon + 1);
    name.resize(colon);
    if (!std::regex_match(tag_part, tag)) return bad("the tag is not [A-Za-z0-9_][A-Za-z0-9_.-]*");
  }
  if (name.empty()) return bad("no name");
  if (name.size() > 255) return bad("longer than 255 characters");
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const auto end = name.find('/', start);
    parts.push_back(name.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::size_t first = 0;
  const auto& head = parts[0];
  const bool has_domain =
      parts.size() > 1 && (head.find_first_of(".:") != std::string::npos || head == "localhost");
  if (has_domain) {
    if (!std::regex_match(head, domain)) return bad("the registry part is not a host[:port]");
    first = 1;
  }
  for (std::size_t i = first; i < parts.size(); ++i) {
    if (!std::regex_match(parts[i], component)) {
      return bad(
          fmt::format("\"{}\" is not lowercase letters and digits separated by '.', '_' "
                      "or '-'",
                      parts[i]));
    }
  }
  return name + ":" + tag_part;
}

std::string fnv1a_hex(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace shfn::image
