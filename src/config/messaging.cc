// Knative's messaging kinds (messaging.knative.dev/v1), first pass: Channel, InMemoryChannel and
// Subscription, read one document at a time. resolve.cc ties each Subscription to its channel.

#include <fmt/format.h>

#include "config/flow_shapes.h"
#include "config/kinds.h"
#include "wire/topic_name.h"

namespace shfn::config {
namespace {

constexpr choice<bool> channel_kinds[] = {{"InMemoryChannel", true}, {"PersistentChannel", false}};

// A Channel's `channelTemplate` says which channel it is: in memory or not.
std::optional<bool> read_template(const field& f) {
  auto t = f.as_mapping({"apiVersion", "kind", "spec"});
  if (!t) return std::nullopt;
  if (auto api = t->get("apiVersion")) (void)api->as_string();
  // `spec` holds settings of Knative's channel implementations: nothing to apply here.
  auto kind = t->require("kind");
  return kind ? kind->as_choice<bool>(channel_kinds) : std::nullopt;
}

// The channel's topic: `ingress` or the name, non-persistent:// when in memory. A persistent://
// ingress for an in-memory channel (or the reverse) is a contradiction, refused.
std::string channel_topic(const document& doc, const std::optional<field>& ingress,
                          bool in_memory) {
  const std::string text = ingress ? ingress->as_string().value_or("") : doc.name;
  if (text.empty()) return {};
  auto topic = wire::parse_topic_name(text);
  const field& at = ingress ? *ingress : doc.spec;
  if (!topic || topic->partition >= 0) {
    at.error(
        fmt::format("invalid channel topic {}: expected NAME, TENANT/NAMESPACE/NAME or "
                    "[non-]persistent://TENANT/NAMESPACE/NAME, not a partition",
                    quote(text)));
    return {};
  }
  const bool scheme_given = text.find("://") != std::string::npos;
  if (scheme_given && topic->persistent == in_memory) {
    at.error(in_memory ? "an in-memory channel's topic is non-persistent://"
                       : "a persistent channel's topic is persistent://: use InMemoryChannel for "
                         "a non-persistent one");
    return {};
  }
  topic->persistent = !in_memory;
  return topic->str();
}

}  // namespace

void parse_channel(const document& doc, first_pass& pass) {
  channel_spec& c = pass.out.channels.emplace_back();
  c.name = doc.name;
  c.ns = doc.ns;
  c.kind = std::string(doc.kind);
  c.where = doc.where;
  const bool generic = doc.kind == "Channel";
  std::vector<std::string_view> keys = {"delivery", "ingress"};
  if (generic) keys.push_back("channelTemplate");
  auto spec = doc.spec.as_mapping(keys);
  if (!spec) return;
  bool in_memory = !generic;
  if (auto v = generic ? spec->get("channelTemplate") : std::nullopt) {
    if (auto t = read_template(*v)) in_memory = *t;
  }
  c.topic = channel_topic(doc, spec->get("ingress"), in_memory);
  if (auto v = spec->get("delivery")) c.delivery = read_delivery(*v);
}

void parse_subscription(const document& doc, first_pass& pass) {
  subscription_spec& s = pass.out.subscriptions.emplace_back();
  s.name = doc.name;
  s.where = doc.where;
  auto spec = doc.spec.as_mapping({"channel", "subscriber", "reply", "delivery"});
  if (!spec) return;
  if (auto v = spec->require("channel")) {
    if (auto ref = v->as_mapping({"apiVersion", "kind", "name", "namespace"})) {
      for (auto key : {"apiVersion", "namespace"})
        if (auto k = ref->get(key)) (void)k->as_string();
      if (auto k = ref->get("kind")) s.channel_kind = k->as_string().value_or("");
      if (auto name = ref->require("name")) {
        s.channel = name->as_string().value_or("");
        s.channel_where = name->where();
        s.channel_field = name->path();
      }
    }
  }
  if (auto v = spec->require("subscriber")) {
    if (auto st = read_step_field(*v, role::subscriber, doc.name, false))
      s.subscriber = std::move(*st);
  }
  if (auto v = spec->get("reply")) s.reply = read_sink(*v);
  if (auto v = spec->get("delivery")) {
    s.delivery = read_delivery(*v);
    s.own_delivery = true;
  }
}

}  // namespace shfn::config
