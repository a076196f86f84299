#pragma once
// What an image is made of, as text: the Containerfiles `shfn image build` hands to buildah and
// the names of its cache entries. Pure: the same inputs give the same bytes, which is what keys
// the cache. See README.md for the two stages.
//
// The image's contract with the rest of shfn (docs/deploy.md, and src/k8s's pods rely on it):
// `tini` and `shfn` on the PATH, user and group 10001 (`shfn`), the spec's directory at /app,
// ENTRYPOINT `tini -- shfn run /app/<spec>` and CMD `--admin 0.0.0.0:8081`, so arguments given
// to `podman run IMAGE ...` (or a pod's `args`) replace the CMD and go after the spec.

#include <string>
#include <string_view>
#include <vector>

#include "image/error.h"

namespace shfn::image {

inline constexpr int user_id = 10001;  // uid and gid of the user `shfn`
inline constexpr std::string_view user_name = "shfn";
inline constexpr int admin_port = 8081;
inline constexpr std::string_view app_dir = "/app";
inline constexpr std::string_view data_dir = "/data";  // SHFN_DATA: the embedded broker's, if used
inline constexpr std::string_view shfn_path = "/usr/local/bin/shfn";
inline constexpr std::string_view tini_path = "/usr/bin/tini";

// Always in the image, besides Debian's minbase (bash, coreutils, grep, sed, ...) and the
// libraries shfn links: tini as PID 1 (it reaps orphans and forwards signals), and CA
// certificates for pulsar+ssl:// and for scripts that speak HTTPS.
std::vector<std::string> fixed_packages();

// Debian policy names: lowercase letters, digits, '+', '-', '.'; at least two, alphanumeric
// first. Checked again here because package names end up on apt-get's command line.
bool valid_package_name(std::string_view name);

struct base_recipe {
  std::string suite;                  // "bookworm"
  std::string arch;                   // "amd64"
  std::string mirror;                 // "http://deb.debian.org/debian"
  std::string security_mirror;        // "http://deb.debian.org/debian-security"; empty: none
  std::vector<std::string> packages;  // installed on top of minbase; sorted, no duplicates
};

// fixed_packages() + `libraries` + `extra`, sorted and without duplicates; fails on a name that
// is not a Debian package name.
outcome<std::vector<std::string>> merge_packages(const std::vector<std::string>& libraries,
                                                 const std::vector<std::string>& extra);

// The image's /etc/apt/sources.list: the suite, its -updates and, if known, its -security.
std::string sources_list(const base_recipe& r);
// /etc/dpkg/dpkg.cfg.d/shfn-slim: no documentation, manual pages or translations (copyright
// files are kept), as Debian's -slim images do.
std::string dpkg_slim_config();

// The base stage, built FROM scratch on the context files minbase_tar_name, "sources.list"
// and "dpkg-slim.cfg": packages, the user, /data. Every RUN is in exec form: no shell reads a
// package name.
std::string base_containerfile(const base_recipe& r);

// The debootstrap tarball of a suite and architecture: "debian-bookworm-amd64-minbase.tar".
std::string minbase_tar_name(const base_recipe& r);
// The base stage's cache entry, keyed by everything that makes it:
// "base-bookworm-amd64-<16 hex digits>.oci.tar".
std::string base_archive_name(const base_recipe& r);
// debootstrap's argv for the minbase root filesystem of `r` in `target`.
std::vector<std::string> debootstrap_argv(const base_recipe& r, const std::string& target);
// tar's argv for packing `rootfs` into `tar_path`, without what apt fetched and without device
// nodes (a container runtime gives the container its own /dev).
std::vector<std::string> minbase_tar_argv(const std::string& rootfs, const std::string& tar_path);

struct app_recipe {
  std::string base;       // the base image (its ID in buildah's storage)
  std::string spec_name;  // the spec file's name, which is its path under /app: "reverse.yaml"
  std::vector<std::string> functions;  // names, for the labels
  std::string version;                 // shfn's
};

// The function stage: shfn and the spec's directory (context files "shfn" and "app/") on the
// base, checked by running `shfn validate` on the spec as the image's user.
std::string app_containerfile(const app_recipe& r);
std::vector<std::string> entrypoint(std::string_view spec_name);
std::vector<std::string> default_args();

// A spec file's name must be safe in a Containerfile, a label and a pod's command line.
bool valid_spec_name(std::string_view name);

// NAME[:TAG] as container tools spell it ([registry[:port]/]path[:tag], path lowercase);
// returns it with ":latest" added when there is no tag.
outcome<std::string> normalize_reference(std::string_view reference);

// FNV-1a, 64 bits, as 16 hex digits: stable across builds and machines (std::hash is not).
std::string fnv1a_hex(std::string_view text);

}  // namespace shfn::image
