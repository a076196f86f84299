#pragma once
// Facts an image build takes from the machine it runs on: which Debian suite, architecture and
// mirror (the image is made of the same Debian as the shfn binary it carries), and which Debian
// packages hold the shared libraries the binary links. The parsers are pure; the `read_*` and
// `library_packages` functions run ldd, dpkg-query and dpkg, or read /etc.
//
// Why packages rather than copying what ldd lists: apt then installs each library with its own
// dependencies and its security updates, at the versions the binary was linked against.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "image/error.h"

namespace shfn::image {

// The absolute paths ldd resolved, in its order (the vDSO has none and is left out). Fails,
// naming them, when ldd reports libraries as "not found".
outcome<std::vector<std::string>> parse_ldd(std::string_view text);

// The names dpkg may know a library by, the given path first: with merged /usr (Debian 12),
// /lib/x/libz.so.1 is also /usr/lib/x/libz.so.1, and packages record one or the other.
std::vector<std::string> path_aliases(const std::string& path);

// `dpkg-query -S PATH...` output → path → package (architecture qualifier dropped; the first
// package when several share a path).
std::map<std::string, std::string> parse_dpkg_search(std::string_view text);

// For each library, the package owning it under one of its aliases (or its real path); fails
// naming every library no package owns.
outcome<std::vector<std::string>> packages_for(
    const std::vector<std::string>& libraries, const std::map<std::string, std::string>& owners,
    const std::map<std::string, std::string>& real_paths);

// /etc/os-release → its fields (quotes removed).
std::map<std::string, std::string> parse_os_release(std::string_view text);

// The first `deb` URI that serves `suite` in sources.list (one-line) or deb822 (.sources) text,
// or "" when none does.
std::string find_mirror(std::string_view text, std::string_view suite, bool deb822);

struct host_facts {
  std::string suite;            // VERSION_CODENAME: "bookworm"
  std::string arch;             // dpkg --print-architecture: "amd64"
  std::string mirror;           // serving `suite`; default http://deb.debian.org/debian
  std::string security_mirror;  // serving `suite`-security; default the official one
};

// Reads /etc/os-release and the apt sources, and asks dpkg for the architecture. Fails on a
// machine that is not Debian (the packages a binary links are only known there).
outcome<host_facts> read_host();

// The Debian packages holding the shared libraries `binary` links (ldd, then dpkg-query -S).
outcome<std::vector<std::string>> library_packages(const std::string& binary);

}  // namespace shfn::image
