#pragma once
// The fixture of the rendering tests: a spec's directory in a fresh temporary directory, and
// helpers to render it and read the manifests back with yaml-cpp.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/temp_dir.h"
#include "k8s/render.h"

namespace shfn::k8s {

class render_test : public ::testing::Test {
 protected:
  std::string write(const std::string& relative, std::string_view content, mode_t mode = 0755) {
    auto p = (base() / relative).lexically_normal();
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    ::chmod(p.c_str(), mode);
    return p.string();
  }

  // Renders `spec` (written as spec.yaml) and returns every document of every manifest.
  std::vector<YAML::Node> documents(const render_options& options = {}) {
    auto r = render_file(spec_path(), options);
    EXPECT_TRUE(r) << errors(r);
    std::vector<YAML::Node> docs;
    if (!r) return docs;
    for (const auto& m : r->manifests)
      for (auto& d : YAML::LoadAll(m.text)) docs.push_back(d);
    return docs;
  }

  // The one document of `kind` named `name`.
  YAML::Node find(const std::vector<YAML::Node>& docs, const std::string& kind,
                  const std::string& name) {
    for (const auto& d : docs)
      if (d["kind"].as<std::string>() == kind && d["metadata"]["name"].as<std::string>() == name)
        return d;
    ADD_FAILURE() << "no " << kind << " " << name;
    return {};
  }

  std::vector<std::string> render_errors(const render_options& options = {}) {
    auto r = render_file(spec_path(), options);
    std::vector<std::string> out;
    if (r) return out;
    for (const auto& e : r.error()) out.push_back(e.to_string());
    return out;
  }

  static std::string errors(const render_result& r) {
    std::string out;
    if (!r)
      for (const auto& e : r.error()) out += e.to_string() + "\n";
    return out;
  }

  // The spec's directory; tests put files outside it in dir_.
  std::filesystem::path base() const { return dir_.path() / "src"; }
  std::string spec_path() const { return (base() / "spec.yaml").string(); }

  static std::vector<std::string> strings(const YAML::Node& seq) {
    std::vector<std::string> out;
    for (const auto& n : seq) out.push_back(n.as<std::string>());
    return out;
  }

  // The file a ConfigMap volume puts at `path`.
  static std::string mounted(const YAML::Node& config_map, const YAML::Node& stateful_set,
                             const std::string& path) {
    for (const auto& item :
         stateful_set["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"]) {
      if (item["path"].as<std::string>() != path) continue;
      const auto key = item["key"].as<std::string>();
      if (config_map["data"][key]) return config_map["data"][key].as<std::string>();
      if (config_map["binaryData"][key]) {
        auto bytes = YAML::DecodeBase64(config_map["binaryData"][key].as<std::string>());
        return {bytes.begin(), bytes.end()};
      }
    }
    ADD_FAILURE() << "nothing mounted at " << path;
    return {};
  }

  temp_dir dir_{"shfn-k8s"};
};

}  // namespace shfn::k8s
