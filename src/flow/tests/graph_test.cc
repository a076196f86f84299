// `shfn graph`: the picture of what a spec runs has every source, stage and topic of its plan
// and every way between them, and the SVG's layout keeps boxes apart and a Parallel's or a
// Sequence's edges from crossing.

#include "flow/graph.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "base/unicode.h"
#include "config/spec.h"
#include "flow/graph_layout.h"
#include "flow/plan.h"

namespace shfn::flow {
namespace {

using node_kind = graph::node_kind;
using edge_kind = graph::edge_kind;

// The shape of examples/odd-even (a PingSource into a Parallel of two branches, the reply
// printed) with inline commands, and a Sequence of three steps replying to a uri.
constexpr std::string_view flows_yaml = R"(
kind: PingSource
metadata: {name: ping}
spec:
  schedule: "*/1 * * * *"
  sink: {ref: {kind: Parallel, name: odd-even}}
---
kind: Parallel
metadata: {name: odd-even}
spec:
  branches:
    - filter: {command: "test even = even"}
      subscriber: {command: "echo even"}
      delivery: {deadLetterSink: {topic: parked}}
    - filter: {command: "test odd = even"}
      subscriber: {command: "echo odd"}
  reply: {builtin: display}
---
kind: Sequence
metadata: {name: steps}
spec:
  steps:
    - command: [tr, a-z, A-Z]
    - command: [rev]
    - uri: http://127.0.0.1:9/hook
  reply: {uri: http://127.0.0.1:9/done}
)";

// Two functions feeding each other: a cycle.
constexpr std::string_view cycle_yaml = R"(
kind: Function
metadata: {name: ping-pong}
spec:
  command: cat
  inputs: [ping]
  output: pong
---
kind: Function
metadata: {name: pong-ping}
spec:
  command: cat
  inputs: [pong]
  output: ping
  logTopic: pong-ping-log
)";

plan plan_of(std::string_view yaml) {
  auto r = config::load_string(yaml, "flows.yaml", "/tmp");
  if (!r) {
    for (const auto& e : r.error()) ADD_FAILURE() << e.to_string();
    return {};
  }
  return make_plan(*r);
}

std::set<std::string> names_of(const graph& g, node_kind kind) {
  std::set<std::string> out;
  for (const auto& n : g.nodes)
    if (n.kind == kind) out.insert(n.name);
  return out;
}

bool has_edge(const graph& g, const std::string& from, const std::string& to, edge_kind kind) {
  return std::any_of(g.edges.begin(), g.edges.end(), [&](const graph::edge& e) {
    return g.nodes[e.from].name == from && g.nodes[e.to].name == to && e.kind == kind;
  });
}

bool overlap(const graph_layout::box& a, const graph_layout::box& b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

void expect_no_overlapping_boxes(const graph& g, const graph_layout& layout) {
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const auto& b = layout.boxes[i];
    EXPECT_GE(b.x, 0);
    EXPECT_GE(b.y, 0);
    EXPECT_LE(b.x + b.width, layout.width) << g.nodes[i].name;
    EXPECT_LE(b.y + b.height, layout.height) << g.nodes[i].name;
    for (std::size_t j = i + 1; j < g.nodes.size(); ++j) {
      EXPECT_FALSE(overlap(b, layout.boxes[j]))
          << g.nodes[i].name << " overlaps " << g.nodes[j].name;
    }
  }
}

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Graph, HasEverySourceStageAndTopicOfThePlan) {
  const plan p = plan_of(flows_yaml);
  const graph g = graph_of(p);

  EXPECT_EQ(names_of(g, node_kind::source), std::set<std::string>{"ping"});
  std::set<std::string> stages, topics;
  for (const auto& s : p.stages) {
    stages.insert(s.spec.name);
    for (const auto& in : s.spec.inputs) {
      topics.insert(in);
      if (s.spec.dead_letter_topic.empty()) topics.insert(in + "-" + s.spec.name + "-DLQ");
    }
    for (const auto* t : {&s.spec.output, &s.spec.dead_letter_topic})
      if (!t->empty()) topics.insert(*t);
  }
  EXPECT_EQ(names_of(g, node_kind::stage), stages);
  EXPECT_EQ(names_of(g, node_kind::topic), topics);
  EXPECT_EQ(stages.size(), 9u);  // 2 filters, 2 subscribers, display; 3 steps, the uri reply

  const std::string ns = "persistent://public/default/";
  EXPECT_TRUE(has_edge(g, "ping", ns + "odd-even", edge_kind::data));
  EXPECT_TRUE(has_edge(g, ns + "odd-even", "odd-even-branch-1-filter", edge_kind::data));
  EXPECT_TRUE(has_edge(g, "odd-even-branch-1-filter", ns + "odd-even-branch-1", edge_kind::data));
  EXPECT_TRUE(has_edge(g, "odd-even-branch-1-subscriber", ns + "odd-even-reply", edge_kind::data));
  EXPECT_TRUE(has_edge(g, ns + "odd-even-reply", "odd-even-reply", edge_kind::data));
  EXPECT_TRUE(has_edge(g, "odd-even-branch-0-filter", ns + "parked", edge_kind::dead_letter));
  EXPECT_TRUE(has_edge(g, "odd-even-branch-1-filter", ns + "odd-even-odd-even-branch-1-filter-DLQ",
                       edge_kind::dead_letter));

  // What people write: short names in public/default; what a stage runs under its name.
  const auto node = [&g](const std::string& name) {
    for (const auto& n : g.nodes)
      if (n.name == name) return n;
    ADD_FAILURE() << "no node " << name;
    return graph::node{};
  };
  EXPECT_EQ(node(ns + "steps-step-1").label, "steps-step-1");
  EXPECT_EQ(node("steps-step-0").detail, "tr a-z A-Z");
  EXPECT_EQ(node("steps-step-2").detail, "POST http://127.0.0.1:9/hook");
  EXPECT_EQ(node("odd-even-reply").detail, "display");
  EXPECT_EQ(node("odd-even-branch-0-subscriber").detail, "echo even");
}

TEST(Graph, LayoutKeepsBoxesApartAndFlowEdgesUncrossed) {
  const graph g = graph_of(plan_of(flows_yaml));
  const graph_layout layout = lay_out(g);
  ASSERT_EQ(layout.boxes.size(), g.nodes.size());
  expect_no_overlapping_boxes(g, layout);

  // Events go rightwards; two edges between the same two columns cross when their ends are
  // in opposite orders.
  for (const auto& e : g.edges) {
    EXPECT_GT(layout.boxes[e.to].column, layout.boxes[e.from].column)
        << g.nodes[e.from].name << " -> " << g.nodes[e.to].name;
  }
  for (const auto& a : g.edges) {
    for (const auto& b : g.edges) {
      const auto &a1 = layout.boxes[a.from], &a2 = layout.boxes[a.to];
      const auto &b1 = layout.boxes[b.from], &b2 = layout.boxes[b.to];
      if (a1.column != b1.column || a2.column != b2.column || a1.y >= b1.y) continue;
      EXPECT_LE(a2.y, b2.y) << g.nodes[a.from].name << " -> " << g.nodes[a.to].name << " crosses "
                            << g.nodes[b.from].name << " -> " << g.nodes[b.to].name;
    }
  }
  // The branches are rows: each filter above or below the other's, and so on to the reply.
  const auto row_of = [&](std::string_view name) {
    for (std::size_t i = 0; i < g.nodes.size(); ++i)
      if (g.nodes[i].name == name) return layout.boxes[i].row;
    ADD_FAILURE() << "no node " << name;
    return -1;
  };
  EXPECT_LT(row_of("odd-even-branch-0-filter"), row_of("odd-even-branch-1-filter"));
  EXPECT_LT(row_of("odd-even-branch-0-subscriber"), row_of("odd-even-branch-1-subscriber"));
}

TEST(Graph, ACycleIsLaidOutWithOneEdgeGoingBack) {
  const graph g = graph_of(plan_of(cycle_yaml));
  const graph_layout layout = lay_out(g);
  expect_no_overlapping_boxes(g, layout);
  int back = 0;
  for (const auto& e : g.edges)
    if (layout.boxes[e.to].column <= layout.boxes[e.from].column) ++back;
  EXPECT_EQ(back, 1);
  EXPECT_TRUE(
      has_edge(g, "pong-ping", "persistent://public/default/pong-ping-log", edge_kind::log));
}

// A Broker's topic is read by its Triggers' filters and written by their subscribers' replies:
// it comes first, and only the replies go back.
TEST(Graph, ABrokersTopicComesFirstAndRepliesGoBack) {
  const graph g = graph_of(plan_of(R"(kind: Broker
metadata: {name: b}
---
kind: Trigger
metadata: {name: t1}
spec: {broker: b, subscriber: {command: cat}}
---
kind: Trigger
metadata: {name: t2}
spec: {broker: b, subscriber: {command: cat}}
)"));
  const graph_layout layout = lay_out(g);
  expect_no_overlapping_boxes(g, layout);
  std::size_t broker = g.nodes.size();
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == "persistent://public/default/b") broker = i;
  ASSERT_LT(broker, g.nodes.size());
  EXPECT_EQ(layout.boxes[broker].column, 0);
  for (const auto& e : g.edges) {
    const bool back = layout.boxes[e.to].column <= layout.boxes[e.from].column;
    EXPECT_EQ(back, e.to == broker) << g.nodes[e.from].name << " -> " << g.nodes[e.to].name;
  }
}

TEST(Graph, RendersEveryNodeAndEdge) {
  const graph g = graph_of(plan_of(flows_yaml));
  std::size_t dead_letters = 0;
  for (const auto& e : g.edges) dead_letters += e.kind == edge_kind::dead_letter ? 1 : 0;
  ASSERT_GT(dead_letters, 0u);

  const std::string dot = to_dot(g);
  EXPECT_NE(dot.find("rankdir=LR"), std::string::npos);
  EXPECT_EQ(count(dot, " -> "), g.edges.size());
  EXPECT_EQ(count(dot, "style=dashed"), dead_letters);

  const std::string mermaid = to_mermaid(g);
  EXPECT_TRUE(mermaid.starts_with("flowchart LR\n"));
  EXPECT_EQ(count(mermaid, " --> ") + count(mermaid, " .-> "), g.edges.size());
  EXPECT_EQ(count(mermaid, " -. dead letter .-> "), dead_letters);

  const std::string svg = to_svg(g, lay_out(g));
  EXPECT_TRUE(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_EQ(count(svg, "<g class=\"node "), g.nodes.size());
  EXPECT_EQ(count(svg, "<path class=\"edge "), g.edges.size());
  EXPECT_EQ(count(svg, "class=\"edge dead-letter\""), dead_letters);
  for (const auto& n : g.nodes) {
    EXPECT_NE(dot.find(n.label), std::string::npos) << n.label;
    EXPECT_NE(mermaid.find(n.label), std::string::npos) << n.label;
    EXPECT_NE(svg.find("data-name=\"" + n.name + "\""), std::string::npos) << n.name;
  }
}

TEST(Graph, ALongCommandIsCutBetweenCharacters) {
  // 36 ASCII bytes, then "é" (2 bytes) across the cut at 37.
  const std::string yaml = R"(
kind: Function
metadata: {name: f}
spec:
  command: [echo, "0123456789012345678901234567890é and more"]
  inputs: [in]
)";
  const graph g = graph_of(plan_of(yaml));
  const auto& detail = g.nodes.front().detail;
  EXPECT_EQ(detail, "echo 0123456789012345678901234567890...");
  EXPECT_TRUE(is_utf8(detail));
}

TEST(Graph, QuotesWhatItCannotWriteAsIs) {
  graph g;
  g.nodes.push_back({.kind = node_kind::stage, .name = "a<b>&\"c\"", .label = "a<b>&\"c\""});
  EXPECT_NE(to_dot(g).find(R"(label="a<b>&\"c\"")"), std::string::npos);
  EXPECT_NE(to_mermaid(g).find("a<b>&#quot;c#quot;"), std::string::npos);
  EXPECT_NE(to_svg(g, lay_out(g)).find("a&lt;b&gt;&amp;&quot;c&quot;"), std::string::npos);
}

}  // namespace
}  // namespace shfn::flow
