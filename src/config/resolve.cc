// The second pass, once every document of the file is read: each `ref` is tied to the document it
// names (a sink becomes that document's topic, a step its Function), Functions without inputs
// are accepted only when a flow runs them, and flows must not feed their own channels.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "config/kinds.h"

namespace shfn::config {
namespace {

// Knative Serving's Service is how Knative manifests name what shfn calls a Function.
std::string_view canonical_kind(std::string_view kind) {
  return kind == "Service" ? "Function" : kind;
}

// "a Channel", "an InMemoryChannel".
std::string a(std::string_view kind) {
  const bool vowel =
      !kind.empty() && std::string_view("AEIOU").find(kind[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(kind);
}

// A channel a flow reads from, and how to name it in a message.
struct channel {
  std::string topic;
  std::string what;  // "this Parallel's own ingress", "the channel of this Parallel's branch 1"
};

class resolver {
 public:
  resolver(first_pass& pass, diagnostics& diags) : pass_(pass), diags_(diags) {
    for (const auto& f : pass_.out.functions) functions_.emplace(f.name, &f);
    for (const auto& p : pass_.out.parallels) ingresses_.emplace(p.name, p.ingress);
    for (const auto& s : pass_.out.sequences) ingresses_.emplace(s.name, s.ingress);
    for (const auto& b : pass_.out.brokers) {
      ingresses_.emplace(b.name, b.ingress);
      brokers_.emplace(b.name, &b);
    }
    for (const auto& c : pass_.out.channels) {
      ingresses_.emplace(c.name, c.topic);
      channels_.emplace(c.name, &c);
    }
  }

  void run() {
    for (auto& p : pass_.out.parallels) {
      for (auto& b : p.branches) {
        if (b.filter) step(*b.filter, "filter");
        step(b.subscriber, "subscriber");
        sink(b.reply);
        sink(b.delivery.dead_letter);
      }
      sink(p.reply);
    }
    for (auto& s : pass_.out.sequences) {
      for (auto& st : s.steps) {
        step(st.step, "step");
        sink(st.delivery.dead_letter);
      }
      sink(s.reply);
    }
    for (auto& c : pass_.out.cron_sources) sink(c.sink);
    for (auto& c : pass_.out.command_sources) sink(c.sink);
    for (auto& b : pass_.out.brokers) {
      if (b.delivery) sink(b.delivery->dead_letter);
    }
    for (auto& t : pass_.out.triggers) trigger(t);
    for (auto& c : pass_.out.channels) {
      if (c.delivery) sink(c.delivery->dead_letter);
    }
    for (auto& s : pass_.out.subscriptions) subscription(s);
    functions_without_inputs();
    for (const auto& p : pass_.out.parallels) no_loops(p);
    for (const auto& s : pass_.out.sequences) no_loops(s);
    channels_are_private();
  }

 private:
  // The kind the document named `name` gave, or nullptr when there is no such document.
  const std::string* kind_of(const std::string& name) const {
    auto it = pass_.kinds.find(name);
    return it == pass_.kinds.end() ? nullptr : &it->second;
  }

  // The names of the documents of these kinds, for "did you mean".
  std::vector<std::string_view> names_of(std::initializer_list<std::string_view> kinds) const {
    std::vector<std::string_view> out;
    for (const auto& [name, kind] : pass_.kinds) {
      if (std::find(kinds.begin(), kinds.end(), canonical_kind(kind)) != kinds.end())
        out.push_back(name);
    }
    return out;
  }

  void step(step_spec& s, std::string_view role) {
    if (s.type != step_spec::kind::function || s.function.empty()) return;
    const std::string* kind = kind_of(s.function);
    if (!kind) {
      diags_.error(s.where, s.field,
                   fmt::format("no Function named \"{}\" in this file{}", s.function,
                               did_you_mean(s.function, names_of({"Function"}))));
      return;
    }
    if (*kind == "Function") {
      run_as_steps_.insert(s.function);
      return;
    }
    const bool receives = receives_events(*kind);
    if (!receives && !is_source_kind(*kind) && *kind != "Trigger" && *kind != "Subscription")
      return;  // a document of an unknown kind: reported there
    diags_.error(
        s.where, s.field,
        fmt::format("\"{}\" is {}; a {} must be a Function, a command, a uri or {}{}", s.function,
                    a(*kind), role, role == "filter" ? "an attribute filter" : "builtin: display",
                    receives ? fmt::format(" (a {} can be a reply)", *kind) : ""));
  }

  // What a sink can name besides a Function: where events are sent into.
  static bool receives_events(std::string_view kind) {
    return kind == "Parallel" || kind == "Sequence" || kind == "Broker" || kind == "Channel" ||
           kind == "InMemoryChannel";
  }

  // A Trigger's Broker gives it its topics and, unless it has its own, its delivery.
  void trigger(trigger_spec& t) {
    step(t.subscriber, "subscriber");
    if (t.own_delivery) sink(t.delivery.dead_letter);
    if (t.broker.empty()) return;
    auto b = brokers_.find(t.broker);
    if (b == brokers_.end()) {
      std::vector<std::string_view> names;
      for (const auto& [name, broker] : brokers_) names.push_back(name);
      diags_.error(t.broker_where, t.broker_field,
                   fmt::format("no Broker named \"{}\" in this file{}", t.broker,
                               did_you_mean(t.broker, names)));
      return;
    }
    t.ingress = b->second->ingress;
    t.topic = t.ingress + "-trigger-" + t.name;
    if (!t.own_delivery && b->second->delivery) t.delivery = *b->second->delivery;
  }

  // A Subscription's channel gives it its topic and, unless it has its own, its delivery.
  void subscription(subscription_spec& s) {
    step(s.subscriber, "subscriber");
    sink(s.reply);
    if (s.own_delivery) sink(s.delivery.dead_letter);
    if (s.channel.empty()) return;
    auto c = channels_.find(s.channel);
    if (c == channels_.end()) {
      std::vector<std::string_view> names;
      for (const auto& [name, channel] : channels_) names.push_back(name);
      diags_.error(s.channel_where, s.channel_field,
                   fmt::format("no Channel or InMemoryChannel named \"{}\" in this file{}",
                               s.channel, did_you_mean(s.channel, names)));
      return;
    }
    if (!s.channel_kind.empty() && s.channel_kind != c->second->kind) {
      diags_.error(
          s.channel_where, s.channel_field,
          fmt::format("\"{}\" is {}, not {}", s.channel, a(c->second->kind), a(s.channel_kind)));
      return;
    }
    s.topic = c->second->topic;
    if (!s.own_delivery && c->second->delivery) s.delivery = *c->second->delivery;
  }

  void sink(sink_spec& s) {
    if (s.ref.empty()) return;
    const std::string* kind = kind_of(s.ref);
    if (!kind) {
      const std::string_view wanted = canonical_kind(s.ref_kind);
      const auto candidates = wanted.empty() ? names_of({"Function", "Parallel", "Sequence",
                                                         "Broker", "Channel", "InMemoryChannel"})
                                             : names_of({wanted});
      diags_.error(
          s.where, s.field,
          fmt::format("no {} named \"{}\" in this file{}",
                      wanted.empty() ? "Function, Parallel, Sequence, Broker or Channel" : wanted,
                      s.ref, did_you_mean(s.ref, candidates)));
      return;
    }
    if (!s.ref_kind.empty() && canonical_kind(s.ref_kind) != *kind) {
      diags_.error(s.where, s.field,
                   fmt::format("\"{}\" is {}, not {}", s.ref, a(*kind), a(s.ref_kind)));
      return;
    }
    if (is_source_kind(*kind)) {
      diags_.error(
          s.where, s.field,
          fmt::format("\"{}\" is a {}, which sends events and cannot receive them", s.ref, *kind));
      return;
    }
    if (*kind == "Trigger" || *kind == "Subscription") {
      diags_.error(s.where, s.field,
                   fmt::format("\"{}\" is a {}, which receives nothing itself: send to its {}",
                               s.ref, *kind, *kind == "Trigger" ? "Broker" : "channel"));
      return;
    }
    if (*kind == "Function") {
      auto f = functions_.find(s.ref);
      if (f == functions_.end()) return;
      if (f->second->inputs.empty()) {
        // Unless its inputs were given and failed to load: that is reported where they are.
        if (!f->second->topics_pattern.empty() || gave_no_inputs(s.ref))
          diags_.error(s.where, s.field,
                       fmt::format("function \"{}\" has no inputs to send to", s.ref));
        return;
      }
      s.type = sink_spec::kind::topic;
      s.topic = f->second->inputs.front();
      return;
    }
    auto flow = ingresses_.find(s.ref);
    if (flow == ingresses_.end() || flow->second.empty()) return;  // reported where it failed
    s.type = sink_spec::kind::topic;
    s.topic = flow->second;
  }

  bool gave_no_inputs(const std::string& name) const {
    return std::any_of(pass_.without_inputs.begin(), pass_.without_inputs.end(),
                       [&](const function_without_inputs& f) { return f.name == name; });
  }

  // Moved here from the Function kind: a Function that a flow runs as a step needs no inputs.
  void functions_without_inputs() {
    for (const auto& f : pass_.without_inputs) {
      if (run_as_steps_.contains(f.name)) continue;
      diags_.error(f.where, f.field,
                   "one of inputs or topicsPattern is required (or refer to it from a Parallel "
                   "or Sequence)");
    }
  }

  // A sink into one of the flow's own channels sends every event around again, forever.
  template <class Flow>
  void check_sinks(const Flow& flow, std::string_view kind, const std::vector<channel>& channels,
                   std::initializer_list<const sink_spec*> sinks) {
    for (const sink_spec* s : sinks) {
      if (s->type != sink_spec::kind::topic) continue;
      auto hit = std::find_if(channels.begin(), channels.end(),
                              [&](const channel& c) { return c.topic == s->topic; });
      if (hit == channels.end()) continue;
      if (s->ref == flow.name) {
        diags_.error(s->where, s->field,
                     fmt::format("refers to this {} itself: its events would loop forever", kind));
      } else {
        diags_.error(
            s->where, s->field,
            fmt::format("sends to {}, {}: its events would loop forever", s->topic, hit->what));
      }
    }
  }

  void no_loops(const parallel_spec& p) {
    std::vector<channel> channels = {{p.ingress, "this Parallel's own ingress"}};
    for (std::size_t i = 0; i < p.branches.size(); ++i)
      channels.push_back(
          {p.branches[i].topic, fmt::format("the channel of this Parallel's branch {}", i)});
    check_sinks(p, "Parallel", channels, {&p.reply});
    for (const auto& b : p.branches)
      check_sinks(p, "Parallel", channels, {&b.reply, &b.delivery.dead_letter});
  }

  void no_loops(const sequence_spec& s) {
    std::vector<channel> channels = {{s.ingress, "this Sequence's own ingress"}};
    for (std::size_t i = 1; i < s.steps.size(); ++i)
      channels.push_back(
          {s.steps[i].topic, fmt::format("the channel of this Sequence's step {}", i)});
    check_sinks(s, "Sequence", channels, {&s.reply});
    for (const auto& st : s.steps) check_sinks(s, "Sequence", channels, {&st.delivery.dead_letter});
  }

  // The channels between a flow's stages are derived from its ingress; two flows with the same
  // ingress would read each other's events on them.
  void channels_are_private() {
    struct owner {
      std::string name, kind;
    };
    std::map<std::string, owner> internal;  // topic -> the flow whose stages it links
    auto claim = [&](const std::string& topic, const std::string& name, std::string_view kind,
                     const location& where) {
      if (topic.empty()) return;
      auto [it, inserted] = internal.emplace(topic, owner{name, std::string(kind)});
      if (!inserted && it->second.name != name) {
        diags_.error(where, name + ".spec.ingress",
                     fmt::format("channel {} is also a channel of {} \"{}\": give the flows "
                                 "different ingress topics",
                                 topic, it->second.kind, it->second.name));
      }
    };
    for (const auto& p : pass_.out.parallels)
      for (const auto& b : p.branches) claim(b.topic, p.name, "Parallel", p.where);
    for (const auto& s : pass_.out.sequences)
      for (std::size_t i = 1; i < s.steps.size(); ++i)
        claim(s.steps[i].topic, s.name, "Sequence", s.where);
    auto ingress = [&](const std::string& topic, const std::string& name, const location& where) {
      auto it = internal.find(topic);
      if (it == internal.end() || it->second.name == name) return;
      diags_.error(where, name + ".spec.ingress",
                   fmt::format("ingress {} is a channel of {} \"{}\": give the flows different "
                               "ingress topics",
                               topic, it->second.kind, it->second.name));
    };
    for (const auto& p : pass_.out.parallels) ingress(p.ingress, p.name, p.where);
    for (const auto& s : pass_.out.sequences) ingress(s.ingress, s.name, s.where);
  }

  first_pass& pass_;
  diagnostics& diags_;
  std::map<std::string, const function_spec*, std::less<>> functions_;
  std::map<std::string, std::string, std::less<>> ingresses_;  // Parallel/Sequence/Broker ->
                                                               // its ingress topic
  std::map<std::string, const broker_spec*, std::less<>> brokers_;
  std::map<std::string, const channel_spec*, std::less<>> channels_;
  std::set<std::string, std::less<>> run_as_steps_;  // Functions that flows run
};

}  // namespace

void resolve(first_pass& pass, diagnostics& diags) {
  resolver(pass, diags).run();
}

}  // namespace shfn::config
