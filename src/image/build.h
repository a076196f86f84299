#pragma once
// `shfn image build`: a spec file to an OCI image with buildah, no Docker daemon.
//
//   1. minbase: `debootstrap --variant=minbase SUITE` once, packed as a tarball in the cache.
//   2. base stage: FROM scratch, that tarball, apt-get of tini, CA certificates, the libraries
//      shfn links and the spec's deploy.packages, the user 10001. Kept in the cache as an
//      oci-archive named by the hash of its recipe, so another spec with the same packages, or
//      a fresh buildah storage (CI), reuses it.
//   3. function stage: FROM the base, shfn (debug info stripped) and the spec's directory at
//      /app, `shfn validate` run in the image, ENTRYPOINT/CMD; tagged NAME:TAG in buildah's
//      storage, and written as an archive with `-o`.
//
// Every tool runs through image/command.h (an argv, never a shell). The cache is locked
// (flock) while a build fills it, so concurrent builds wait rather than race. Blocking; run it
// from the command line's thread.

#include <cstdint>
#include <functional>
#include <string>

#include "config/spec.h"
#include "image/error.h"
#include "image/plan.h"

namespace shfn::image {

struct build_options {
  std::string reference;       // NAME:TAG, normalised (normalize_reference)
  std::string output;          // archive to write; empty: the image stays in buildah's storage only
  bool docker_archive = true;  // docker-archive (else oci-archive) for `output`
  std::string shfn_binary;     // empty: this process's executable
  bool strip = true;           // strip debug info from the copy of shfn
  std::string cache_dir;       // empty: default_cache_dir()
  std::string root, runroot;   // buildah's storage; empty: buildah's defaults
  std::string storage_driver = "vfs";
  std::string mirror;         // Debian mirror; empty: the host's
  bool refresh_base = false;  // rebuild the minbase and base cache entries
  bool verbose = false;       // the tools' output on stderr as it comes (else a log, shown
                              // only on failure)
  std::function<void(const std::string&)> progress;  // one line per step
};

struct build_report {
  std::string reference;
  std::string image_id;
  std::string image_size;  // as buildah prints it ("137 MB")
  std::string archive;     // written archive, absolute; empty without `output`
  std::uintmax_t archive_bytes = 0;
  double seconds = 0;
};

// $SHFN_CACHE/image, else $XDG_CACHE_HOME/shfn/image, else $HOME/.cache/shfn/image.
std::string default_cache_dir();

// Fails, saying how to install it, when buildah is not on the PATH.
outcome<void> check_buildah();

// Everything but the build: host facts, the binary's packages, the files of /app.
outcome<image_plan> plan_image(const config::spec_file& spec, const build_options& options);

outcome<build_report> build_image(const image_plan& plan, const build_options& options);

}  // namespace shfn::image
