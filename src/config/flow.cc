// Knative's flows (flows.knative.dev), first pass: Parallel and Sequence, read one document at a
// time, with their channels (ingress, channelTemplate) and the topics derived from them.

#include "config/flow.h"

#include <fmt/format.h>

#include "config/flow_shapes.h"
#include "config/kinds.h"
#include "wire/topic_name.h"

namespace shfn::config {
namespace {

constexpr choice<bool> channel_kinds[] = {{"InMemoryChannel", true}, {"PersistentChannel", false}};

struct channels {
  std::optional<wire::topic_name> ingress;  // nullopt after an error
  bool in_memory = false;

  // `<ingress>-<part>-<index>` beside the ingress: the topic of a branch or step.
  std::string derived(std::string_view part, std::size_t index) const {
    if (!ingress) return {};
    wire::topic_name t = *ingress;
    t.local = fmt::format("{}-{}-{}", ingress->local, part, index);
    return t.str();
  }
};

// `channelTemplate` and `ingress`. Knative's InMemoryChannel loses events on a restart, as a
// non-persistent topic does; anything durable (the default) is a persistent topic.
channels read_channels(const document& doc, const mapping& spec) {
  channels c;
  std::optional<bool> template_in_memory;
  if (auto v = spec.get("channelTemplate")) {
    if (auto t = v->as_mapping({"apiVersion", "kind", "spec"})) {
      if (auto api = t->get("apiVersion")) (void)api->as_string();
      // `spec` holds settings of Knative's channel implementations: nothing to apply here.
      if (auto kind = t->require("kind")) template_in_memory = kind->as_choice<bool>(channel_kinds);
    }
  }
  c.in_memory = template_in_memory.value_or(false);
  auto ingress = spec.get("ingress");
  const std::string text =
      ingress ? ingress->as_string().value_or("") : doc.name;  // the flow's name by default
  if (text.empty()) return c;  // an error was reported (here or for the name)
  const field& at = ingress ? *ingress : spec.self();
  auto topic = wire::parse_topic_name(text);
  if (!topic) {
    at.error(
        fmt::format("invalid topic name {}: expected NAME, TENANT/NAMESPACE/NAME or "
                    "persistent://TENANT/NAMESPACE/NAME",
                    quote(text)));
    return c;
  }
  if (topic->partition >= 0) {
    at.error(
        "must not name a partition (-partition-N): the flow's channels are topics "
        "of their own");
    return c;
  }
  if (ingress && text.starts_with("persistent://") && template_in_memory.value_or(false)) {
    ingress->error(
        "a persistent:// ingress with channelTemplate kind InMemoryChannel: give a short name "
        "or non-persistent://, or use PersistentChannel");
    return c;
  }
  if (!topic->persistent) {
    if (template_in_memory == false) {
      at.error(
          "a non-persistent:// ingress with channelTemplate kind PersistentChannel: use "
          "InMemoryChannel, or a persistent topic");
      return c;
    }
    c.in_memory = true;  // without a channelTemplate, the ingress says which
  }
  topic->persistent = !c.in_memory;
  c.ingress = *topic;
  return c;
}

}  // namespace

void parse_parallel(const document& doc, first_pass& pass) {
  parallel_spec& p = pass.out.parallels.emplace_back();
  p.name = doc.name;
  p.ns = doc.ns;
  p.where = doc.where;
  auto spec = doc.spec.as_mapping({"ingress", "channelTemplate", "branches", "cases", "reply"});
  if (!spec) return;
  const channels ch = read_channels(doc, *spec);
  if (ch.ingress) p.ingress = ch.ingress->str();
  p.in_memory = ch.in_memory;

  auto branches = spec->get("branches");
  auto cases = spec->get("cases");
  if (branches && cases) {
    cases->error("give branches or cases (Knative's older name for them), not both");
  } else if (!cases) {
    branches = spec->require("branches");
  }
  if (auto list = branches ? branches : cases) {
    auto items = list->as_list();
    if (items && items->empty()) list->error("must list at least one branch");
    for (std::size_t i = 0; items && i < items->size(); ++i) {
      const field& item = (*items)[i];
      branch_spec& b = p.branches.emplace_back();
      b.where = item.where();
      b.topic = ch.derived("branch", i);
      auto m = item.as_mapping({"filter", "subscriber", "reply", "delivery"});
      if (!m) continue;
      const std::string prefix = fmt::format("{}-branch-{}-", doc.name, i);
      if (auto v = m->get("filter"))
        b.filter = read_step_field(*v, role::filter, prefix + "filter", false);
      if (auto v = m->require("subscriber")) {
        if (auto st = read_step_field(*v, role::subscriber, prefix + "subscriber", false))
          b.subscriber = std::move(*st);
      }
      if (auto v = m->get("reply")) b.reply = read_sink(*v);
      if (auto v = m->get("delivery")) b.delivery = read_delivery(*v);
    }
  }
  if (auto v = spec->get("reply")) p.reply = read_sink(*v);
}

void parse_sequence(const document& doc, first_pass& pass) {
  sequence_spec& s = pass.out.sequences.emplace_back();
  s.name = doc.name;
  s.ns = doc.ns;
  s.where = doc.where;
  auto spec = doc.spec.as_mapping({"ingress", "channelTemplate", "steps", "reply"});
  if (!spec) return;
  const channels ch = read_channels(doc, *spec);
  if (ch.ingress) s.ingress = ch.ingress->str();
  s.in_memory = ch.in_memory;
  if (auto steps = spec->require("steps")) {
    auto items = steps->as_list();
    if (items && items->empty()) steps->error("must list at least one step");
    for (std::size_t i = 0; items && i < items->size(); ++i) {
      sequence_step_spec& st = s.steps.emplace_back();
      st.topic = i == 0 ? s.ingress : ch.derived("step", i);
      if (auto step = read_step_field((*items)[i], role::step,
                                      fmt::format("{}-step-{}", doc.name, i), true, &st.delivery))
        st.step = std::move(*step);
    }
  }
  if (auto v = spec->get("reply")) s.reply = read_sink(*v);
}

}  // namespace shfn::config
