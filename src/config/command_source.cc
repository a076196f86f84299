// The command source: Knative's ContainerSource (sources.knative.dev/v1) shape, read one document
// at a time. Its pod template's one container gives the command (`command` and `args`), its
// `env` and `workingDir`; shfn runs that command itself, so `image` is refused by name.

#include <fmt/format.h>

#include "config/flow.h"
#include "config/flow_shapes.h"
#include "config/kinds.h"

namespace shfn::config {
namespace {

std::optional<std::vector<std::string>> read_strings(const field& f) {
  auto items = f.as_list();
  if (!items) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : *items) {
    auto text = item.as_string();
    if (!text) return std::nullopt;
    out.push_back(std::move(*text));
  }
  return out;
}

void read_argv(const mapping& container, command_source_spec& c) {
  auto command = container.get("command");
  if (!command) {
    container.error(
        "command is required: shfn runs the command itself (the container's image is not used)");
    return;
  }
  auto argv = read_strings(*command);
  if (!argv) return;
  if (argv->empty() || argv->front().empty()) {
    command->error("expected the program to run, then its arguments");
    return;
  }
  c.argv = std::move(*argv);
  if (auto args = container.get("args")) {
    if (auto more = read_strings(*args)) c.argv.insert(c.argv.end(), more->begin(), more->end());
  }
}

void read_env_entry(const field& entry, command_source_spec& c) {
  auto m = entry.as_mapping({"name", "value"});
  if (!m) return;
  auto name_field = m->require("name");
  if (!name_field) return;
  auto name = name_field->as_string();
  if (!name) return;
  if (auto problem = env_name_problem(*name)) {
    name_field->error(std::move(*problem));
    return;
  }
  if (std::ranges::find(sink_binding_variables, *name) != std::end(sink_binding_variables)) {
    name_field->error(fmt::format("{} is set by shfn, as Knative's SinkBinding sets it", *name));
    return;
  }
  std::string value;
  if (auto v = m->get("value"); v && !v->node().IsNull()) {
    auto text = v->as_string();
    if (!text) return;
    value = std::move(*text);
  }
  c.env.emplace_back(std::move(*name), std::move(value));
}

void read_container(const document& doc, const field& f, command_source_spec& c) {
  auto container = f.as_mapping({"name", "image", "command", "args", "env", "workingDir"});
  if (!container) return;
  if (auto image = container->get("image")) {
    image->error(
        "image is not supported: shfn runs the container's command itself, on its own host or in "
        "the pod shfn k8s render makes (where the spec's directory is /app); give command (and "
        "args) instead");
  }
  if (auto name = container->get("name")) name->as_string();  // any text: a label
  read_argv(*container, c);
  if (auto env = container->get("env")) {
    if (auto entries = env->as_list()) {
      for (const auto& entry : *entries) read_env_entry(entry, c);
    }
  }
  read_working_dir(doc, *container, c.working_dir);
}

void read_template(const document& doc, const field& f, command_source_spec& c) {
  auto pod = f.as_mapping({"spec"});
  if (!pod) return;
  auto spec = pod->require("spec");
  if (!spec) return;
  auto pod_spec = spec->as_mapping({"containers"});
  if (!pod_spec) return;
  auto containers = pod_spec->require("containers");
  if (!containers) return;
  auto list = containers->as_list();
  if (!list) return;
  if (list->size() != 1) {
    containers->error(fmt::format(
        "expected one container, got {}: shfn runs one command per source", list->size()));
    return;
  }
  read_container(doc, list->front(), c);
}

}  // namespace

void parse_command_source(const document& doc, first_pass& pass) {
  command_source_spec& c = pass.out.command_sources.emplace_back();
  c.name = doc.name;
  c.ns = doc.ns;
  c.where = doc.where;
  c.source = fmt::format("/apis/v1/namespaces/{}/containersources/{}", doc.ns, doc.name);
  auto spec = doc.spec.as_mapping({"template", "ceOverrides", "sink"});
  if (!spec) return;
  if (auto t = spec->require("template")) read_template(doc, *t, c);
  if (auto v = spec->get("ceOverrides")) read_ce_overrides(*v, c.extensions, false);
  if (auto v = spec->require("sink")) c.sink = read_sink(*v);
}

}  // namespace shfn::config
