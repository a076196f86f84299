#pragma once
// What an image of a spec file holds, decided before any tool runs: the files of /app, the
// Debian packages, the labels. `shfn image build --dry-run` prints it.
//
// A spec is "a file and the files it references": today the `script`s of its Functions; flows
// will add theirs to spec_contents::scripts. All of them must be inside the spec's directory,
// because that directory becomes /app and the spec, copied unchanged, resolves its relative
// paths there.

#include <filesystem>
#include <string>
#include <vector>

#include "config/spec.h"
#include "image/app_files.h"
#include "image/error.h"
#include "image/recipe.h"

namespace shfn::image {

struct spec_contents {
  std::filesystem::path dir;           // the spec's directory, absolute: becomes /app
  std::string spec_name;               // the file's name: /app/<spec_name>
  std::vector<std::string> functions;  // names, in document order
  std::vector<std::string> packages;   // every deploy.packages, sorted, no duplicates
  // Each file the spec names, relative to `dir`, with the field naming it (for errors).
  struct reference {
    std::string path;
    config::spec_error field;  // where and which field, message empty
  };
  std::vector<reference> scripts;
};

// Checks what the image needs of a loaded spec: a file name safe on a command line; every
// script inside the spec's directory; every workingDir inside it or /tmp (the only directories
// the image is sure to have). Errors are one per line, FILE:LINE:COL: FIELD: MESSAGE.
outcome<spec_contents> inspect_spec(const config::spec_file& spec);

// Fails, naming the field, for a script the tree leaves out (through .shfnignore).
outcome<void> check_references(const spec_contents& contents, const app_tree& tree);

struct image_plan {
  spec_contents spec;
  app_tree app;
  base_recipe base;
  std::string shfn_binary;  // the binary copied in
};

// Human-readable: the files, the packages, the two Containerfiles (the function stage's FROM
// shows the base's cache entry, since its image ID is known only once it is built).
std::string describe(const image_plan& plan, const std::string& reference,
                     const std::string& version);

}  // namespace shfn::image
