// The entry point: YAML text to documents, each document's header (kind, metadata), then the
// parser of its kind; once all are read, the second pass (resolve.cc) ties refs to documents.
// Names are unique across the file, whatever their kinds.

#include "config/spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "config/kinds.h"

namespace shfn::config {
namespace {

namespace fs = std::filesystem;

struct kind_entry {
  std::string_view kind;
  void (*parse)(const document&, first_pass&);
  bool spec_optional = false;  // Knative's getting-started Broker has no spec at all
};

// PingSource and CronJobSource are Knative's cron sources: the same parser, other defaults.
constexpr kind_entry kinds[] = {
    {"Function", parse_function},
    {"Parallel", parse_parallel},
    {"Sequence", parse_sequence},
    {"CronSource", parse_cron_source},
    {"PingSource", parse_cron_source},
    {"CronJobSource", parse_cron_source},
    {"ContainerSource", parse_command_source},
    {"Broker", parse_broker, true},
    {"Trigger", parse_trigger},
    {"Channel", parse_channel, true},
    {"InMemoryChannel", parse_channel, true},
    {"Subscription", parse_subscription},
};

// Kubernetes' DNS label (RFC 1123): the name will name StatefulSets and Services.
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-') return false;
  return true;
}

// The document's name when it is usable, read without reporting anything: it prefixes the field
// paths of the whole document ("reverse.spec.timeoutMs"), so it is needed before anything else.
std::string peek_name(const YAML::Node& root) {
  if (!root.IsMap()) return {};
  for (const auto& entry : root) {
    if (!entry.first.IsScalar() || entry.first.Scalar() != "metadata" || !entry.second.IsMap())
      continue;
    for (const auto& m : entry.second) {
      if (m.first.IsScalar() && m.first.Scalar() == "name" && m.second.IsScalar() &&
          valid_name(m.second.Scalar()))
        return m.second.Scalar();
    }
  }
  return {};
}

class loader {
 public:
  loader(const std::string& file_name, fs::path base_dir)
      : diags_(file_name), base_dir_(std::move(base_dir)) {
    pass_.out.path = file_name;
    pass_.out.base_dir = base_dir_.string();
  }

  load_result run(std::string_view yaml) {
    source_ = std::string(yaml);
    diags_.set_source(source_);
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(source_);
    } catch (const YAML::ParserException& e) {
      diags_.error(e.mark, "", "YAML syntax error: " + e.msg);
      return tl::unexpected(diags_.take());
    }
    for (const auto& node : docs) {
      if (node.IsNull()) continue;  // empty documents ("---" followed by nothing) are allowed
      read_document(node);
    }
    // Refs name documents anywhere in the file, so they are resolved once all are read.
    resolve(pass_, diags_);
    if (diags_.count() == 0) return std::move(pass_.out);
    auto errors = diags_.take();
    sort_in_file_order(errors);
    return tl::unexpected(std::move(errors));
  }

  diagnostics& diags() { return diags_; }

 private:
  void read_document(const YAML::Node& node) {
    const std::string name = peek_name(node);
    const field root(diags_, node, node.Mark(), name);
    if (!root.is_mapping()) {
      root.error("expected a mapping with kind, metadata and spec, got " + describe(node));
      return;
    }
    const mapping doc(root, {"apiVersion", "kind", "metadata", "spec"});
    if (auto api = doc.get("apiVersion")) (void)api->as_string();
    std::string kind_text;
    const kind_entry* kind = read_kind(doc, kind_text);
    const std::string ns = read_metadata(doc, name, kind_text);
    auto spec = kind && kind->spec_optional ? doc.get("spec") : doc.require("spec");
    if (kind && kind->spec_optional && !spec)
      spec = field(diags_, YAML::Node(YAML::NodeType::Map), root.mark(), name + ".spec");
    if (!kind || !spec) return;
    kind->parse(document{.name = name,
                         .kind = kind->kind,
                         .ns = ns,
                         .where = root.where(),
                         .spec = *spec,
                         .base_dir = base_dir_},
                pass_);
  }

  const kind_entry* read_kind(const mapping& doc, std::string& text_out) {
    auto kind = doc.require("kind");
    if (!kind) return nullptr;
    auto text = kind->as_string();
    if (!text) return nullptr;
    text_out = *text;
    for (const auto& k : kinds)
      if (k.kind == *text) return &k;
    std::vector<std::string_view> all;
    for (const auto& k : kinds) all.push_back(k.kind);
    std::string supported;
    for (const auto& k : kinds) supported += (supported.empty() ? "" : ", ") + std::string(k.kind);
    kind->error(fmt::format("unknown kind {}{}; supported: {}", quote(*text),
                            did_you_mean(*text, all), supported));
    return nullptr;
  }

  // The document's namespace ("default" unless given), and its name checked and claimed.
  std::string read_metadata(const mapping& doc, const std::string& usable_name,
                            const std::string& kind) {
    std::string ns = "default";
    auto metadata = doc.require("metadata");
    if (!metadata) return ns;
    auto m = metadata->as_mapping({"name", "namespace", "labels", "annotations"});
    if (!m) return ns;
    // Knative manifests name their namespace; a Broker's is the first part of its ingress path.
    if (auto v = m->get("namespace")) {
      auto text = v->as_string();
      if (text && !valid_name(*text))
        v->error(fmt::format("invalid namespace {}: must be a DNS label", quote(*text)));
      else if (text)
        ns = *text;
    }
    // Accepted so that manifests written for Kubernetes load unchanged; not used yet.
    for (auto key : {"labels", "annotations"}) {
      if (auto v = m->get(key)) {
        if (auto entries = v->as_entries())
          for (const auto& e : *entries)
            if (!e.second.node().IsNull()) (void)e.second.as_string();
      }
    }
    auto name = m->require("name");
    if (!name) return ns;
    auto text = name->as_string();
    if (!text) return ns;
    if (usable_name.empty()) {
      name->error(
          fmt::format("invalid name {}: must be a DNS label (lowercase letters, digits "
                      "and '-', starting and ending with a letter or digit, at most 63 "
                      "characters)",
                      quote(*text)));
      return ns;
    }
    auto [first, inserted] = lines_.emplace(usable_name, name->where().line);
    if (!inserted) {
      name->error(
          fmt::format("duplicate name \"{}\" (first used at line {})", usable_name, first->second));
      return ns;
    }
    pass_.kinds.emplace(usable_name, kind);
    return ns;
  }

  std::string source_;  // the text, for pointing inside scalars; outlives every use of diags_
  diagnostics diags_;
  fs::path base_dir_;
  first_pass pass_;
  std::map<std::string, int> lines_;  // name -> line of its first use
};

load_result load(std::string_view yaml, const std::string& file_name, fs::path base_dir) {
  loader l(file_name, std::move(base_dir));
  // yaml-cpp throws beyond its parser exceptions (allocation, recursion guards); none of it may
  // escape a load.
  try {
    return l.run(yaml);
  } catch (const std::exception& e) {
    l.diags().error(location{file_name}, "", std::string("cannot load: ") + e.what());
    return tl::unexpected(l.diags().take());
  }
}

}  // namespace

std::vector<flow_document> flow_documents(const spec_file& spec) {
  std::vector<flow_document> out;
  for (const auto& p : spec.parallels) out.push_back({p.where, p.name, "Parallel"});
  for (const auto& s : spec.sequences) out.push_back({s.where, s.name, "Sequence"});
  for (const auto& c : spec.cron_sources) out.push_back({c.where, c.name, c.kind});
  for (const auto& c : spec.command_sources) out.push_back({c.where, c.name, "ContainerSource"});
  for (const auto& b : spec.brokers) out.push_back({b.where, b.name, "Broker"});
  for (const auto& t : spec.triggers) out.push_back({t.where, t.name, "Trigger"});
  for (const auto& c : spec.channels) out.push_back({c.where, c.name, c.kind});
  for (const auto& s : spec.subscriptions) out.push_back({s.where, s.name, "Subscription"});
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
  });
  return out;
}

load_result load_string(std::string_view yaml, const std::string& file_name,
                        const std::string& base_dir) {
  return load(yaml, file_name, absolute_dir(base_dir));
}

load_result load_file(const std::string& path) {
  auto file = read_file_text(path, "a spec file");
  if (!file) return tl::unexpected(std::move(file.error()));
  return load(file->text, path, file->base_dir);
}

load_all_result load_files(const std::vector<std::string>& paths) {
  std::vector<spec_file> files;
  std::vector<spec_error> errors;
  for (const auto& path : paths) {
    auto file = load_file(path);
    if (!file) {
      errors.insert(errors.end(), file.error().begin(), file.error().end());
    } else {
      files.push_back(std::move(*file));
    }
  }
  // Each file checked its own names; across files, the first use of a name keeps it.
  std::map<std::string, location> first_use;
  auto claim = [&](const std::string& name, const location& where) {
    auto [first, inserted] = first_use.emplace(name, where);
    if (inserted) return;
    errors.push_back({.where = where,
                      .field = name + ".metadata.name",
                      .message = fmt::format("duplicate name \"{}\" (first used at {}:{})", name,
                                             first->second.file, first->second.line)});
  };
  for (const auto& file : files) {
    for (const auto& f : file.functions) claim(f.name, f.where);
    for (const auto& d : flow_documents(file)) claim(d.name, d.where);
  }
  if (!errors.empty()) return tl::unexpected(std::move(errors));
  return files;
}

}  // namespace shfn::config
