// Knative Eventing's Broker and Trigger (eventing.knative.dev/v1), first pass: read one document
// at a time. resolve.cc ties each Trigger to its Broker.

#include <fmt/format.h>

#include "config/flow_shapes.h"
#include "config/kinds.h"
#include "event/filter_grammar.h"

namespace shfn::config {
namespace {

// A spec file's filters are never empty, as a flow's filter steps are not.
constexpr event::filter_rules trigger_filter_rules{.allow_empty = false};

// `filter: {attributes: {NAME: VALUE}}`: Knative's older exact filter, in which an empty value
// matches any value, the attribute's absence too.
std::optional<event::filter> read_attributes_filter(const field& f) {
  auto m = f.as_mapping({"attributes"});
  if (!m) return std::nullopt;
  auto attributes = m->get("attributes");
  if (!attributes) return event::filter{};
  auto entries = attributes->as_entries();
  if (!entries) return std::nullopt;
  event::filter exact{.what = event::filter::kind::exact};
  for (const auto& [key, value] : *entries) {
    const std::string name = key.as_string().value_or("");
    if (auto problem = event::filter_attribute_problem(name)) {
      key.error(*problem);
      return std::nullopt;
    }
    auto text = value.node().IsNull() ? std::optional<std::string>("") : value.as_string();
    if (!text) return std::nullopt;
    if (!text->empty()) exact.attributes.emplace_back(name, std::move(*text));
  }
  if (exact.attributes.empty()) return event::filter{};
  return exact;
}

// `filter` and `filters` as one filter: all of them must pass.
nlohmann::json read_trigger_filters(const mapping& spec) {
  event::filter all{.what = event::filter::kind::all};
  auto filter = spec.get("filter");
  auto filters = spec.get("filters");
  if (filter && filters) {
    // Knative ignores `filter` then; a file that gives both means one of them by mistake.
    filters->error("give filter or filters, not both (Knative ignores filter when filters is set)");
    return nlohmann::json::object();
  }
  if (filter) {
    if (auto f = read_attributes_filter(*filter); f && f->what != event::filter::kind::none)
      all.children.push_back(std::move(*f));
  }
  if (filters) {
    if (auto items = filters->as_list()) {
      for (const auto& item : *items) {
        if (auto f = event::read_filter(item, trigger_filter_rules, 1))
          all.children.push_back(std::move(*f));
      }
    }
  }
  if (all.children.empty()) return nlohmann::json::object();
  if (all.children.size() == 1) return event::as_json(all.children.front());
  return event::as_json(all);
}

}  // namespace

void parse_broker(const document& doc, first_pass& pass) {
  broker_spec& b = pass.out.brokers.emplace_back();
  b.name = doc.name;
  b.ns = doc.ns;
  b.where = doc.where;
  b.ingress = "persistent://public/default/" + doc.name;
  // `config` names the ConfigMap of Knative's channel implementation: nothing to apply here.
  auto spec = doc.spec.as_mapping({"config", "delivery", "ingress"});
  if (!spec) return;
  if (auto v = spec->get("config")) {
    if (auto m = v->as_mapping({"apiVersion", "kind", "name", "namespace"})) {
      for (auto key : {"apiVersion", "kind", "name", "namespace"})
        if (auto s = m->get(key)) (void)s->as_string();
    }
  }
  if (auto v = spec->get("ingress")) {
    if (auto topic = read_topic(*v)) b.ingress = *topic;
  }
  if (auto v = spec->get("delivery")) b.delivery = read_delivery(*v);
}

void parse_trigger(const document& doc, first_pass& pass) {
  trigger_spec& t = pass.out.triggers.emplace_back();
  t.name = doc.name;
  t.where = doc.where;
  auto spec = doc.spec.as_mapping({"broker", "filter", "filters", "subscriber", "delivery"});
  if (!spec) return;
  if (auto v = spec->require("broker")) {
    t.broker = v->as_string().value_or("");
    t.broker_where = v->where();
    t.broker_field = v->path();
  }
  t.filter = read_trigger_filters(*spec);
  if (auto v = spec->require("subscriber")) {
    if (auto st = read_step_field(*v, role::subscriber, doc.name + "-subscriber", false))
      t.subscriber = std::move(*st);
  }
  if (auto v = spec->get("delivery")) {
    t.delivery = read_delivery(*v);
    t.own_delivery = true;
  }
}

}  // namespace shfn::config
