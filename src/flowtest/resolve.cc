// `to:` and `from:` in a test file name documents of the spec it runs: here they become the
// topics a test sends to and expects on, or errors at their place in the test file.

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "config/reader.h"
#include "flowtest/test_file.h"  // resolve() is declared with the model it fills in

namespace shfn::flowtest {
namespace {

using config::quote;

std::string did_you_mean(const std::string& name, const std::vector<std::string>& names) {
  std::vector<std::string_view> views(names.begin(), names.end());
  return config::did_you_mean(name, views);
}

struct spec_names {
  const config::spec_file& spec;
  std::vector<std::string> all;

  explicit spec_names(const config::spec_file& s) : spec(s) {
    for (const auto& f : s.functions) all.push_back(f.name);
    for (const auto& p : s.parallels) all.push_back(p.name);
    for (const auto& q : s.sequences) all.push_back(q.name);
    for (const auto& c : s.cron_sources) all.push_back(c.name);
  }

  template <class T>
  static const T* find(const std::vector<T>& v, const std::string& name) {
    auto it = std::find_if(v.begin(), v.end(), [&](const T& x) { return x.name == name; });
    return it == v.end() ? nullptr : &*it;
  }

  std::string unknown(const std::string& name) const {
    return fmt::format("no Function, Parallel, Sequence or cron source named {} in {}{}",
                       quote(name), spec.path, did_you_mean(name, all));
  }
};

// The topic a flow's reply goes to, or why it has none. A `uri` or `display` reply is fed
// through a channel of its own, `<ingress>-reply` (flow/plan.h), which is where a test sees it.
tl::expected<std::string, std::string> reply_topic(const config::sink_spec& reply,
                                                   const std::string& ingress,
                                                   std::string_view what) {
  switch (reply.type) {
    case config::sink_spec::kind::topic:
      return reply.topic;
    case config::sink_spec::kind::uri:
    case config::sink_spec::kind::display:
      return ingress + "-reply";
    case config::sink_spec::kind::none:
      break;
  }
  return tl::unexpected(fmt::format(
      "{} has no reply: its output goes nowhere (expect on the topic of a branch's own reply)",
      what));
}

tl::expected<std::string, std::string> input_of(const spec_names& names, const std::string& n) {
  if (const auto* f = spec_names::find(names.spec.functions, n)) {
    if (f->inputs.empty() && !f->topics_pattern.empty())
      return tl::unexpected(fmt::format(
          "Function {} reads the topics matching {}: send to one of them with topic:", quote(n),
          f->topics_pattern_given));
    if (f->inputs.empty())
      return tl::unexpected(fmt::format(
          "Function {} has no inputs of its own (a flow runs it): send to the flow, or to a "
          "topic",
          quote(n)));
    return f->inputs.front();
  }
  if (const auto* p = spec_names::find(names.spec.parallels, n)) return p->ingress;
  if (const auto* s = spec_names::find(names.spec.sequences, n)) return s->ingress;
  if (spec_names::find(names.spec.cron_sources, n))
    return tl::unexpected(fmt::format("{} is a cron source, which cannot receive", quote(n)));
  return tl::unexpected(names.unknown(n));
}

tl::expected<std::string, std::string> output_of(const spec_names& names, const std::string& n) {
  if (const auto* f = spec_names::find(names.spec.functions, n)) {
    if (f->output.empty())
      return tl::unexpected(fmt::format("Function {} has no output", quote(n)));
    return f->output;
  }
  if (const auto* p = spec_names::find(names.spec.parallels, n))
    return reply_topic(p->reply, p->ingress, "Parallel " + quote(n));
  if (const auto* s = spec_names::find(names.spec.sequences, n))
    return reply_topic(s->reply, s->ingress, "Sequence " + quote(n));
  if (const auto* c = spec_names::find(names.spec.cron_sources, n)) {
    // A `uri` or `display` sink is fed through `<name>-sink` (flow/plan.h).
    if (c->sink.type == config::sink_spec::kind::topic) return c->sink.topic;
    return "persistent://public/default/" + c->name + "-sink";
  }
  return tl::unexpected(names.unknown(n));
}

void check_duplicate_topics(const test_case& c, std::vector<diagnostic>& errors) {
  std::map<std::string, int> lines;
  for (const auto& e : c.expects) {
    if (e.topic.empty()) continue;
    auto [first, inserted] = lines.emplace(e.topic, e.at.where.line);
    if (!inserted)
      errors.push_back({e.at.where, e.at.field,
                        fmt::format("{} is expected twice in this test (first at line {}): list "
                                    "all its messages in one place",
                                    e.topic, first->second)});
  }
}

}  // namespace

std::vector<diagnostic> resolve(test_file& t, const config::spec_file& spec) {
  const spec_names names(spec);
  std::vector<diagnostic> errors;
  for (auto& c : t.cases) {
    for (auto& s : c.sends) {
      if (s.to.empty()) continue;
      auto topic = input_of(names, s.to);
      if (topic)
        s.topic = *topic;
      else
        errors.push_back({s.to_at.where, s.to_at.field, topic.error()});
    }
    for (auto& e : c.expects) {
      if (e.from.empty()) continue;
      auto topic = output_of(names, e.from);
      if (topic)
        e.topic = *topic;
      else
        errors.push_back({e.from_at.where, e.from_at.field, topic.error()});
    }
    check_duplicate_topics(c, errors);
  }
  return errors;
}

}  // namespace shfn::flowtest
