#pragma once
// The topology a plan runs, as a picture (`shfn graph`): every cron source, stage and topic, and
// how events go between them. A stage reads its input topics and writes its output, dead-letter
// and log topics; a source writes its sink's topic. Renderers: Graphviz DOT, Mermaid, and an SVG
// laid out here (graph_layout.h), so that no tool is needed to see it.
//
// Pure: a plan in, text out; any thread.

#include <cstddef>
#include <string>
#include <vector>

#include "flow/plan.h"

namespace shfn::flow {

struct graph {
  enum class node_kind { source, stage, topic };
  // data: a stage's input or output, a source's sink; dead_letter and log: where a stage's
  // failures and stderr go.
  enum class edge_kind { data, dead_letter, log };

  struct node {
    node_kind kind = node_kind::topic;
    std::string name;    // the topic's full name, the stage's or the source's
    std::string label;   // what the picture shows: a topic in public/default by its short name
    std::string detail;  // the second line: what a stage runs, a source's schedule, "" for a topic
    std::string flow;    // the Parallel or Sequence a stage belongs to; "" otherwise
  };
  struct edge {
    std::size_t from = 0, to = 0;  // node indexes
    edge_kind kind = edge_kind::data;
  };

  std::vector<node> nodes;  // sources, then each stage followed by the topics it first names
  std::vector<edge> edges;
};

graph graph_of(const plan& p);

// `digraph`, left to right; dead-letter edges dashed, log edges dotted.
std::string to_dot(const graph& g);
// `flowchart LR`; dead-letter and log edges dotted, with their kind as their label.
std::string to_mermaid(const graph& g);

}  // namespace shfn::flow
