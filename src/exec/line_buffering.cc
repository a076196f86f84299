#include "exec/line_buffering.h"

#include <unistd.h>

#include <algorithm>
#include <array>

namespace shfn::exec {

std::optional<std::string> find_libstdbuf() {
  // Debian and Ubuntu, Fedora and Alpine put it in libexec; some in lib or lib64.
  static constexpr std::array<const char*, 5> places = {
      "/usr/libexec/coreutils/libstdbuf.so", "/usr/lib/coreutils/libstdbuf.so",
      "/usr/lib64/coreutils/libstdbuf.so", "/usr/local/libexec/coreutils/libstdbuf.so",
      "/usr/lib/x86_64-linux-gnu/coreutils/libstdbuf.so"};
  for (const char* place : places) {
    if (::access(place, R_OK) == 0) return std::string(place);
  }
  return std::nullopt;
}

env_list with_line_buffered_stdout(env_list env, const std::string& library) {
  const auto named = [&env](const std::string& name) {
    return std::ranges::find_if(env, [&name](const auto& kv) { return kv.first == name; });
  };
  if (named("_STDBUF_O") != env.end()) return env;  // the user's choice
  env.emplace_back("_STDBUF_O", "L");
  auto preload = named("LD_PRELOAD");
  if (preload == env.end()) {
    env.emplace_back("LD_PRELOAD", library);
  } else if (preload->second.find(library) == std::string::npos) {
    preload->second = library + (preload->second.empty() ? "" : ":" + preload->second);
  }
  return env;
}

}  // namespace shfn::exec
