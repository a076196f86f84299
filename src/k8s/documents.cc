#include "k8s/documents.h"

#include <yaml-cpp/yaml.h>

namespace shfn::k8s {

namespace {

bool marker(std::string_view line, std::string_view m) {
  return line.starts_with(m) && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' ||
                                 line[3] == '\r' || line[3] == '\n');
}

// The parsed document, or a null node when it has no content or does not parse (the loader,
// which has read the same text, reports syntax errors).
YAML::Node parse(const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const std::exception&) {
    return YAML::Node();
  }
}

std::string name_of(const YAML::Node& doc) {
  try {
    if (doc.IsMap() && doc["metadata"] && doc["metadata"].IsMap() && doc["metadata"]["name"] &&
        doc["metadata"]["name"].IsScalar())
      return doc["metadata"]["name"].Scalar();
  } catch (const std::exception&) {
    return {};  // yaml-cpp could not read it: no name
  }
  return {};
}

}  // namespace

std::vector<document_text> split_documents(std::string_view yaml) {
  std::vector<document_text> chunks{{.text = "", .first_line = 1}};
  int line_number = 1;
  for (std::size_t start = 0; start < yaml.size(); ++line_number) {
    auto end = yaml.find('\n', start);
    end = end == std::string_view::npos ? yaml.size() : end + 1;
    const auto line = yaml.substr(start, end - start);
    if (marker(line, "---")) chunks.push_back({.text = "", .first_line = line_number});
    chunks.back().text += line;
    // After "...", what follows (comments, directives) belongs to the next document.
    if (marker(line, "...")) chunks.push_back({.text = "", .first_line = line_number + 1});
    start = end;
  }
  std::vector<document_text> out;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (!parse(chunks[i].text).IsNull()) {
      out.push_back(std::move(chunks[i]));
    } else if (i == 0 && chunks.size() > 1 && chunks[1].text.starts_with("---")) {
      // The file's header comment: keep it with the first document.
      chunks[1].text = chunks[0].text + chunks[1].text;
      chunks[1].first_line = chunks[0].first_line;
    }
  }
  return out;
}

std::optional<document_text> document_named(std::string_view yaml, std::string_view name) {
  for (auto& doc : split_documents(yaml))
    if (name_of(parse(doc.text)) == name) return std::move(doc);
  return std::nullopt;
}

}  // namespace shfn::k8s
