#include "flow/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "event/filter.h"
#include "function/topic_pattern.h"
#include "wire/topic_name.h"

namespace shfn::flow {

namespace {

using config::function_spec;
using config::sink_spec;
using config::step_spec;

// "persistent://public/default/odd-even" -> "persistent://public/default/": topics a flow makes
// for itself live beside its ingress.
std::string namespace_of(const std::string& topic) {
  return topic.substr(0, topic.rfind('/') + 1);
}

void print_to_stdout(const std::string& block) {
  std::fwrite(block.data(), 1, block.size(), stdout);
  std::fflush(stdout);
}

class planner {
 public:
  planner(const config::spec_file& file, const plan_options& options)
      : file_(file), options_(options) {
    if (!options_.print) options_.print = print_to_stdout;
  }

  plan build() {
    for (const auto& f : file_.functions) {
      const bool runs_alone = !f.inputs.empty() || !f.topics_pattern.empty();
      if (runs_alone && selected(f.name)) out_.stages.push_back({.spec = f});
    }
    for (const auto& p : file_.parallels) {
      if (selected(p.name)) add_parallel(p);
      add_sink_stages();
    }
    for (const auto& s : file_.sequences) {
      if (selected(s.name)) add_sequence(s);
      add_sink_stages();
    }
    for (const auto& c : file_.cron_sources) {
      if (selected(c.name)) add_source(c);
      add_sink_stages();
    }
    for (const auto& c : file_.command_sources) {
      if (selected(c.name)) add_source(c);
      add_sink_stages();
    }
    for (const auto& t : file_.triggers) {
      if (selected(t.name) || selected(t.broker)) add_trigger(t);
      add_sink_stages();
    }
    for (const auto& s : file_.subscriptions) {
      if (selected(s.name) || selected(s.channel)) add_subscription(s);
      add_sink_stages();
    }
    add_routes();
    return std::move(out_);
  }

 private:
  // Where a stage is, what it runs and how it is delivered.
  struct hop {
    std::string flow, name;  // the stage's name is also its subscription's
    std::string input, output;
    const step_spec* step = nullptr;
    const config::delivery_spec* delivery = nullptr;
  };

  bool selected(const std::string& name) const {
    return options_.only.empty() || options_.only.contains(name);
  }

  void add_parallel(const config::parallel_spec& p) {
    for (std::size_t i = 0; i < p.branches.size(); ++i) {
      const auto& b = p.branches[i];
      const std::string branch = p.name + "-branch-" + std::to_string(i);
      hop filter{.flow = p.name,
                 .name = branch + "-filter",
                 .input = p.ingress,
                 .output = b.topic,
                 .step = b.filter ? &*b.filter : &pass_all_,
                 .delivery = &b.delivery};
      add_stage(filter);
      // The branch's own reply, else the Parallel's (one sink stage shared by the branches).
      const bool own_reply = b.reply.type != sink_spec::kind::none;
      const std::string output =
          own_reply ? sink_topic(b.reply, p.name, branch + "-reply", b.topic + "-reply")
                    : sink_topic(p.reply, p.name, p.name + "-reply", p.ingress + "-reply");
      add_stage({.flow = p.name,
                 .name = branch + "-subscriber",
                 .input = b.topic,
                 .output = output,
                 .step = &b.subscriber,
                 .delivery = &b.delivery});
    }
  }

  void add_sequence(const config::sequence_spec& s) {
    for (std::size_t i = 0; i < s.steps.size(); ++i) {
      const auto& st = s.steps[i];
      const bool last = i + 1 == s.steps.size();
      add_stage(
          {.flow = s.name,
           .name = s.name + "-step-" + std::to_string(i),
           .input = st.topic,
           .output = last ? sink_topic(s.reply, s.name, s.name + "-reply", s.ingress + "-reply")
                          : s.steps[i + 1].topic,
           .step = &st.step,
           .delivery = &st.delivery});
    }
  }

  // A Trigger is a Parallel branch whose reply goes back into its Broker, with the broker's loop
  // protection (stage_options::broker_reply). Its filter stage's subscription on the Broker's
  // topic is its own: a slow or failing subscriber holds back no other Trigger.
  void add_trigger(const config::trigger_spec& t) {
    step_spec& filter = owned_steps_.emplace_back(pass_all_);
    filter.attributes = t.filter;
    add_stage({.flow = t.name,
               .name = t.name + "-filter",
               .input = t.ingress,
               .output = t.topic,
               .step = &filter,
               .delivery = &t.delivery});
    add_stage({.flow = t.name,
               .name = t.name + "-subscriber",
               .input = t.topic,
               .output = t.ingress,
               .step = &t.subscriber,
               .delivery = &t.delivery});
    out_.stages.back().options.broker_reply = true;
  }

  // A Subscription is one stage: the channel's events, over a subscription named after it, to
  // its subscriber, and the replies to its reply.
  void add_subscription(const config::subscription_spec& s) {
    add_stage({.flow = s.name,
               .name = s.name,
               .input = s.topic,
               .output = sink_topic(s.reply, s.name, s.name + "-reply",
                                    s.topic + "-" + s.name + "-reply"),
               .step = &s.subscriber,
               .delivery = &s.delivery});
  }

  void add_routes() {
    for (auto& r : file_routes())
      if (selected(r.name)) out_.routes.push_back(std::move(r));
    for (const auto& c : file_.command_sources) {
      auto route = selected(c.name) ? route_of(c.sink.ref) : std::nullopt;
      if (route && std::ranges::find(out_.routes, *route) == out_.routes.end())
        out_.routes.push_back(std::move(*route));
    }
  }

  // The ingress route of every Broker, Parallel, Sequence and channel of the file, selected or
  // not.
  std::vector<ingress_route> file_routes() const {
    std::vector<ingress_route> out;
    for (const auto& b : file_.brokers) out.push_back({b.ns, b.name, "Broker", b.ingress});
    for (const auto& p : file_.parallels) out.push_back({p.ns, p.name, "Parallel", p.ingress});
    for (const auto& s : file_.sequences) out.push_back({s.ns, s.name, "Sequence", s.ingress});
    for (const auto& c : file_.channels) out.push_back({c.ns, c.name, c.kind, c.topic});
    return out;
  }

  // The route of the document `name`, when it has one.
  std::optional<ingress_route> route_of(const std::string& name) const {
    for (auto& r : file_routes())
      if (!name.empty() && r.name == name) return std::move(r);
    return std::nullopt;
  }

  template <class Source>
  void add_source(Source c) {
    const std::string topic = "persistent://public/default/" + c.name + "-sink";
    if constexpr (std::is_same_v<Source, config::command_source_spec>) k_sink(c);
    c.sink.topic = sink_topic(c.sink, c.name, c.name + "-sink", topic);
    c.sink.type = sink_spec::kind::topic;
    out_.sources.emplace_back(std::move(c));
  }

  // Where a command source's command sends events itself: a uri sink's URL, or the ingress
  // path of the sink it names, whose route the plan gets even when the sink is not selected
  // (`--only SOURCE` in a pod still serves K_SINK).
  void k_sink(config::command_source_spec& c) {
    if (c.sink.type == sink_spec::kind::uri) {
      c.sink_url = c.sink.uri;
      c.sink_ca_certs = c.sink.ca_certs;
      return;
    }
    auto route = route_of(c.sink.ref);
    if (!route) return;
    c.sink_url = "/" + route->ns + "/" + route->name;
  }

  // The topic a stage publishes to for `sink`: the sink's own topic, none, or (a uri or display
  // sink) `topic`, read by a new sink stage named `stage` that delivers to it.
  std::string sink_topic(const sink_spec& sink, const std::string& flow, const std::string& stage,
                         const std::string& topic) {
    switch (sink.type) {
      case sink_spec::kind::none:
        return {};
      case sink_spec::kind::topic:
        return sink.topic;
      case sink_spec::kind::uri:
      case sink_spec::kind::display:
        break;
    }
    if (!sink_stages_.insert(stage).second) return topic;  // a reply shared by branches
    step_spec& step = owned_steps_.emplace_back();
    step.type = sink.type == sink_spec::kind::uri ? step_spec::kind::uri : step_spec::kind::display;
    step.uri = sink.uri;
    step.ca_certs = sink.ca_certs;
    step.where = sink.where;
    step.field = sink.field;
    add_stage({.flow = flow,
               .name = stage,
               .input = topic,
               .output = "",
               .step = &step,
               .delivery = &default_delivery_},
              true);
    return topic;
  }

  // A flow's sink stages go after its own stages.
  void add_sink_stages() {
    for (auto& s : sink_stages_pending_) out_.stages.push_back(std::move(s));
    sink_stages_pending_.clear();
  }

  void add_stage(const hop& h, bool is_sink = false) {
    stage s{.spec = spec_for(h), .flow = h.flow};
    s.options.always_event = true;
    s.options.linear_backoff = h.delivery->policy == config::backoff_policy::linear;
    s.options.backoff_delay = h.delivery->backoff_delay;
    s.options.error_destination =
        h.step->type == step_spec::kind::uri ? h.step->uri : "shfn:" + h.name;
    s.options.step = step_for(*h.step, *h.delivery);
    s.step_definition = step_definition(*h.step, *h.delivery);
    s.spec.dead_letter_topic = dead_letter_topic(h);
    (is_sink ? sink_stages_pending_ : out_.stages).push_back(std::move(s));
  }

  std::string dead_letter_topic(const hop& h) {
    const sink_spec& dls = h.delivery->dead_letter;
    const std::string topic = namespace_of(h.input) + h.name + "-dead-letter";
    return sink_topic(dls, h.flow, h.name + "-dead-letter", topic);
  }

  // The stage's function spec: a referenced Function's (its command, environment, mode,
  // parallelism...) or a new one, with the stage's topics, subscription and delivery.
  function_spec spec_for(const hop& h) const {
    function_spec f;
    if (h.step->type == step_spec::kind::function) {
      for (const auto& candidate : file_.functions)
        if (candidate.name == h.step->function) f = candidate;
    } else {
      f.where = h.step->where;
      f.argv = h.step->argv;  // empty for a built-in step, which runs no process
      f.working_dir = file_.base_dir;
      // A request in flight costs nothing here: let a slow uri overlap the others.
      if (h.step->type == step_spec::kind::uri) f.parallelism = uri_parallelism;
    }
    f.name = h.name;
    f.inputs = {h.input};
    f.topics_pattern.clear();
    f.topics_pattern_given.clear();
    f.output = h.output;
    f.subscription_name = h.name;
    f.max_message_retries = h.delivery->retry;
    f.timeout = h.delivery->timeout;
    return f;
  }

  std::shared_ptr<step> step_for(const step_spec& st, const config::delivery_spec& d) const {
    switch (st.type) {
      case step_spec::kind::function:
      case step_spec::kind::command:
        return nullptr;  // the spec's command
      case step_spec::kind::uri:
        return uri_step(st.uri, d.timeout, st.ca_certs);
      case step_spec::kind::attributes: {
        auto f = event::parse_filter(st.attributes);
        return attribute_filter_step(f ? std::move(*f) : event::filter{});
      }
      case step_spec::kind::display:
        return display_step(options_.print);
    }
    return nullptr;
  }

  static std::string step_definition(const step_spec& st, const config::delivery_spec& d) {
    switch (st.type) {
      case step_spec::kind::function:
      case step_spec::kind::command:
        return "";
      case step_spec::kind::uri:
        return fmt::format("uri {} {}ms{}", st.uri, d.timeout.count(),
                           st.ca_certs.empty() ? "" : " CACerts " + st.ca_certs);
      case step_spec::kind::attributes:
        return "filter " + st.attributes.dump();
      case step_spec::kind::display:
        return "display";
    }
    return "";
  }

  static constexpr int uri_parallelism = 8;

  const config::spec_file& file_;
  plan_options options_;
  plan out_;
  const step_spec pass_all_{.type = step_spec::kind::attributes,
                            .attributes = nlohmann::json::object()};
  const config::delivery_spec default_delivery_{};
  std::deque<step_spec> owned_steps_;  // steps made here (sinks, triggers): stable addresses
  std::set<std::string> sink_stages_;
  std::vector<stage> sink_stages_pending_;
};

}  // namespace

plan make_plan(const config::spec_file& file, const plan_options& options) {
  plan p = planner(file, options).build();
  for (const auto& f : file.functions) p.documents.push_back({f.where, f.name, "Function"});
  std::ranges::move(config::flow_documents(file), std::back_inserter(p.documents));
  return p;
}

bool wants_ingress(const plan& p) {
  const bool broker =
      std::ranges::any_of(p.routes, [](const ingress_route& r) { return r.kind == "Broker"; });
  const bool k_sink = std::ranges::any_of(p.sources, [](const source_spec& s) {
    const auto* c = std::get_if<config::command_source_spec>(&s);
    return c != nullptr && c->sink_url.starts_with('/');
  });
  return broker || k_sink;
}

void append(plan& all, plan more) {
  std::ranges::move(more.stages, std::back_inserter(all.stages));
  std::ranges::move(more.sources, std::back_inserter(all.sources));
  std::ranges::move(more.documents, std::back_inserter(all.documents));
  std::ranges::move(more.routes, std::back_inserter(all.routes));
}

bool same_definition(const stage& a, const stage& b) {
  auto spec_a = a.spec;
  auto spec_b = b.spec;
  spec_a.where = spec_b.where = {};
  const auto& x = a.options;
  const auto& y = b.options;
  return spec_a == spec_b && a.flow == b.flow && a.step_definition == b.step_definition &&
         x.always_event == y.always_event && x.linear_backoff == y.linear_backoff &&
         x.backoff_delay == y.backoff_delay && x.error_destination == y.error_destination &&
         x.broker_reply == y.broker_reply;
}

const std::string& name_of(const source_spec& s) {
  return std::visit([](const auto& c) -> const std::string& { return c.name; }, s);
}

const config::location& where_of(const source_spec& s) {
  return std::visit([](const auto& c) -> const config::location& { return c.where; }, s);
}

const config::sink_spec& sink_of(const source_spec& s) {
  return std::visit([](const auto& c) -> const config::sink_spec& { return c.sink; }, s);
}

std::string_view kind_of(const source_spec& s) {
  if (const auto* cron = std::get_if<config::cron_source_spec>(&s)) return cron->kind;
  return "ContainerSource";
}

bool same_definition(const source_spec& a, const source_spec& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&b](const auto& x) {
        auto one = x;
        auto other = std::get<std::decay_t<decltype(x)>>(b);
        one.where = other.where = one.sink.where = other.sink.where = {};
        one.sink.field = other.sink.field = "";
        return one == other;
      },
      a);
}

std::set<std::pair<std::string, std::string>> namespaces_of(const plan& p) {
  std::set<std::pair<std::string, std::string>> out;
  const auto add = [&out](const std::string& topic) {
    if (auto t = wire::parse_topic_name(topic)) out.emplace(t->tenant, t->ns);
  };
  for (const auto& stage : p.stages) {
    const auto& spec = stage.spec;
    for (const auto& input : spec.inputs) add(input);
    for (const auto* topic : {&spec.output, &spec.log_topic, &spec.dead_letter_topic}) {
      if (!topic->empty()) add(*topic);
    }
    if (auto pattern = function::topic_pattern::compile(spec.topics_pattern)) {
      add("persistent://" + pattern->ns() + "/probe");  // the namespace the pattern lists
    }
  }
  for (const auto& source : p.sources) {
    if (sink_of(source).type == config::sink_spec::kind::topic) add(sink_of(source).topic);
  }
  return out;
}

}  // namespace shfn::flow
