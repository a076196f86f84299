#pragma once
// A graph (graph.h) laid out left to right, and drawn as a self-contained SVG.
//
// Layers: a node's column is the longest path to it from a node nothing points to (an edge that
// closes a cycle is left out of the count), so events always go rightwards. Order within a
// column: the order the plan names things, then a few sweeps that move each node towards the
// mean place of its neighbours in the previous column (and back, the next), keeping ties in
// order. A Parallel's branches and a Sequence's steps then come out as straight rows with no
// crossing edges.
//
// Parts of the graph that share no edge (two flows, a function on its own) are laid out apart,
// each in a band of its own below the previous one, so that they never interleave. An edge that
// skips a column (a dead-letter topic shared by a branch's filter and subscriber) is drawn
// straight across it.
//
// The SVG carries each node's name (`data-name`) and kind (`class`), so that a page showing it
// can find a stage or a topic to put numbers on.
//
// Pure; any thread.

#include <string>
#include <vector>

#include "flow/graph.h"

namespace shfn::flow {

struct graph_layout {
  struct box {
    double x = 0, y = 0, width = 0, height = 0;  // the top-left corner and the size, in px
    int column = 0;
    int row = 0;  // the place in its column, from the top
  };
  std::vector<box> boxes;  // by node index
  double width = 0, height = 0;
};

graph_layout lay_out(const graph& g);

std::string to_svg(const graph& g, const graph_layout& layout);

}  // namespace shfn::flow
