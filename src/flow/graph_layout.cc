#include "flow/graph_layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string_view>
#include <utility>

namespace shfn::flow {
namespace {

using node_kind = graph::node_kind;
using edge_kind = graph::edge_kind;

// Sizes, in px: a box fits its longer line at about 7 px a character.
constexpr double char_width = 7, box_padding = 20, min_box_width = 90, box_height = 40;
// row_gap leaves room under each box for the live view's two lines of numbers.
constexpr double column_gap = 56, row_gap = 30, margin = 16;
constexpr double band_gap = 32;            // between unconnected parts, each in a band of its own
constexpr double loop_room = row_gap * 3;  // below a part with an edge that loops back
constexpr int sweeps = 4;

// The indexes of the edges leaving each node.
std::vector<std::vector<std::size_t>> edges_from(const graph& g) {
  std::vector<std::vector<std::size_t>> out(g.nodes.size());
  for (std::size_t i = 0; i < g.edges.size(); ++i) out[g.edges[i].from].push_back(i);
  return out;
}

// The order the walk below starts from: sources, then topics, then stages. Only a cycle makes
// it matter: a Broker's topic, read by its Triggers and written by their replies, then comes
// first, and the replies are the edges that go back.
std::vector<std::size_t> walk_roots(const graph& g) {
  std::vector<std::size_t> roots;
  for (auto kind : {graph::node_kind::source, graph::node_kind::topic, graph::node_kind::stage}) {
    for (std::size_t i = 0; i < g.nodes.size(); ++i)
      if (g.nodes[i].kind == kind) roots.push_back(i);
  }
  return roots;
}

// The edges that do not close a cycle: a depth-first walk from each node in walk_roots order
// leaves out an edge to a node still on its path.
std::vector<bool> forward_edges(const graph& g, const std::vector<std::vector<std::size_t>>& out) {
  const std::size_t n = g.nodes.size();
  std::vector<bool> forward(g.edges.size(), true);
  enum class mark { unseen, on_path, done };
  std::vector<mark> marks(n, mark::unseen);
  for (std::size_t root : walk_roots(g)) {
    if (marks[root] != mark::unseen) continue;
    std::vector<std::pair<std::size_t, std::size_t>> path{{root, 0}};  // node, next edge
    marks[root] = mark::on_path;
    while (!path.empty()) {
      auto& [node, next] = path.back();
      if (next == out[node].size()) {
        marks[node] = mark::done;
        path.pop_back();
        continue;
      }
      const std::size_t e = out[node][next++];
      const std::size_t to = g.edges[e].to;
      if (marks[to] == mark::on_path) {
        forward[e] = false;
      } else if (marks[to] == mark::unseen) {
        marks[to] = mark::on_path;
        path.emplace_back(to, 0);
      }
    }
  }
  return forward;
}

// Each node's column: the longest path of forward edges to it.
std::vector<int> columns_of(const graph& g, const std::vector<std::vector<std::size_t>>& out,
                            const std::vector<bool>& forward) {
  const std::size_t n = g.nodes.size();
  std::vector<int> column(n, 0);
  std::vector<std::size_t> pending(n, 0);
  for (std::size_t e = 0; e < g.edges.size(); ++e)
    if (forward[e]) ++pending[g.edges[e].to];
  std::vector<std::size_t> ready;
  for (std::size_t i = n; i-- > 0;)
    if (pending[i] == 0) ready.push_back(i);
  while (!ready.empty()) {
    const std::size_t from = ready.back();
    ready.pop_back();
    for (std::size_t e : out[from]) {
      if (!forward[e]) continue;
      const std::size_t to = g.edges[e].to;
      column[to] = std::max(column[to], column[from] + 1);
      if (--pending[to] == 0) ready.push_back(to);
    }
  }
  return column;
}

// Moves each node of `column` towards the mean row of its neighbours on `neighbours`' side;
// a node with none there keeps its row as its key. Ties keep their order.
void sweep(std::vector<std::size_t>& column,
           const std::vector<std::vector<std::size_t>>& neighbours, std::vector<int>& row) {
  std::vector<std::pair<double, std::size_t>> keyed;
  for (std::size_t node : column) {
    const auto& near = neighbours[node];
    double key = row[node];
    if (!near.empty()) {
      key = std::accumulate(near.begin(), near.end(), 0.0,
                            [&row](double sum, std::size_t m) { return sum + row[m]; }) /
            static_cast<double>(near.size());
    }
    keyed.emplace_back(key, node);
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < keyed.size(); ++i) {
    column[i] = keyed[i].second;
    row[column[i]] = static_cast<int>(i);
  }
}

// The columns' contents, ordered to keep edges from crossing.
std::vector<std::vector<std::size_t>> ordered_columns(const graph& g,
                                                      const std::vector<bool>& forward,
                                                      const std::vector<int>& column) {
  const std::size_t n = g.nodes.size();
  std::vector<std::vector<std::size_t>> columns(
      n == 0 ? 0 : static_cast<std::size_t>(*std::max_element(column.begin(), column.end()) + 1));
  std::vector<int> row(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    auto& c = columns[static_cast<std::size_t>(column[i])];
    row[i] = static_cast<int>(c.size());
    c.push_back(i);
  }
  // Neighbours in the column just before and just after.
  std::vector<std::vector<std::size_t>> before(n), after(n);
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    const auto [from, to] = std::pair{g.edges[e].from, g.edges[e].to};
    if (!forward[e] || column[to] != column[from] + 1) continue;
    before[to].push_back(from);
    after[from].push_back(to);
  }
  for (int i = 0; i < sweeps; ++i) {
    for (std::size_t c = 1; c < columns.size(); ++c) sweep(columns[c], before, row);
    for (std::size_t c = columns.size(); c-- > 1;) sweep(columns[c - 1], after, row);
  }
  return columns;
}

double box_width(const graph::node& n) {
  const std::size_t chars = std::max(n.label.size(), n.detail.size());
  return std::max(min_box_width, static_cast<double>(chars) * char_width + box_padding);
}

std::string escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string_view kind_name(node_kind k) {
  switch (k) {
    case node_kind::source:
      return "source";
    case node_kind::stage:
      return "stage";
    case node_kind::topic:
      return "topic";
  }
  return "topic";
}

std::string_view kind_name(edge_kind k) {
  switch (k) {
    case edge_kind::data:
      return "data";
    case edge_kind::dead_letter:
      return "dead-letter";
    case edge_kind::log:
      return "log";
  }
  return "data";
}

// From the right middle of one box to the left middle of the other, leaving and arriving level;
// an edge that goes back (a cycle) loops below both boxes instead.
std::string edge_path(const graph_layout::box& a, const graph_layout::box& b) {
  if (b.column > a.column) {
    const double x1 = a.x + a.width, y1 = a.y + a.height / 2, x2 = b.x, y2 = b.y + b.height / 2;
    const double bend = (x2 - x1) / 2;
    return fmt::format("M{:.1f},{:.1f} C{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}", x1, y1,
                       x1 + bend, y1, x2 - bend, y2, x2, y2);
  }
  const double x1 = a.x + a.width / 2, y1 = a.y + a.height, x2 = b.x + b.width / 2,
               y2 = b.y + b.height;
  const double low = std::max(y1, y2) + row_gap * 2;
  return fmt::format("M{:.1f},{:.1f} C{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}", x1, y1, x1, low,
                     x2, low, x2, y2);
}

constexpr std::string_view svg_style = R"(
  .node rect { stroke-width: 1.2; }
  .stage rect { fill: #eef3fc; stroke: #3b6fd8; }
  .topic rect { fill: #f6f6f1; stroke: #8a8a80; }
  .source rect { fill: #ecf8ef; stroke: #3a9a55; }
  .node text { fill: #1d1d1d; }
  .node .detail { fill: #5a5a5a; font-size: 10px; }
  .edge { fill: none; stroke: #555; stroke-width: 1.2; }
  .edge.dead-letter { stroke: #b22222; stroke-dasharray: 5 3; }
  .edge.log { stroke: #888; stroke-dasharray: 1 3; }
)";

// The graph's connected parts, each as a graph of its own; `members[p]`: the indexes in `g` of
// part p's nodes, in order.
std::vector<graph> parts_of(const graph& g, std::vector<std::vector<std::size_t>>& members) {
  std::vector<std::size_t> leader(g.nodes.size());
  std::iota(leader.begin(), leader.end(), 0);
  const auto find = [&leader](std::size_t i) {
    while (leader[i] != i) i = leader[i] = leader[leader[i]];
    return i;
  };
  for (const auto& e : g.edges) leader[find(e.from)] = find(e.to);
  std::vector<graph> parts;
  std::vector<std::size_t> part_of_leader(g.nodes.size(), SIZE_MAX), index(g.nodes.size());
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    std::size_t& p = part_of_leader[find(i)];
    if (p == SIZE_MAX) {
      p = parts.size();
      parts.emplace_back();
      members.emplace_back();
    }
    index[i] = parts[p].nodes.size();
    parts[p].nodes.push_back(g.nodes[i]);
    members[p].push_back(i);
  }
  for (const auto& e : g.edges) {
    parts[part_of_leader[find(e.from)]].edges.push_back(
        {.from = index[e.from], .to = index[e.to], .kind = e.kind});
  }
  return parts;
}

// A connected graph laid out from (0, 0): its columns side by side, each centred on the
// tallest; room below when an edge loops back.
graph_layout lay_out_part(const graph& g) {
  const auto out_edges = edges_from(g);
  const auto forward = forward_edges(g, out_edges);
  const auto column = columns_of(g, out_edges, forward);
  const auto columns = ordered_columns(g, forward, column);
  graph_layout out;
  out.boxes.resize(g.nodes.size());
  std::size_t tallest = 0;
  for (const auto& c : columns) tallest = std::max(tallest, c.size());
  const double inner_height = static_cast<double>(tallest) * (box_height + row_gap) - row_gap;
  double x = 0;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    double widest = 0;
    for (std::size_t node : columns[c]) widest = std::max(widest, box_width(g.nodes[node]));
    const double used = static_cast<double>(columns[c].size()) * (box_height + row_gap) - row_gap;
    double y = (inner_height - used) / 2;
    for (std::size_t r = 0; r < columns[c].size(); ++r) {
      const std::size_t node = columns[c][r];
      const double w = box_width(g.nodes[node]);
      out.boxes[node] = {.x = x + (widest - w) / 2,
                         .y = y,
                         .width = w,
                         .height = box_height,
                         .column = static_cast<int>(c),
                         .row = static_cast<int>(r)};
      y += box_height + row_gap;
    }
    x += widest + column_gap;
  }
  out.width = x - column_gap;
  const bool loops = std::find(forward.begin(), forward.end(), false) != forward.end();
  out.height = inner_height + (loops ? loop_room : 0);
  return out;
}

}  // namespace

graph_layout lay_out(const graph& g) {
  std::vector<std::vector<std::size_t>> members;
  const std::vector<graph> parts = parts_of(g, members);
  graph_layout out;
  out.boxes.resize(g.nodes.size());
  double top = margin, widest = 0;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    const graph_layout part = lay_out_part(parts[p]);
    for (std::size_t i = 0; i < members[p].size(); ++i) {
      graph_layout::box b = part.boxes[i];
      b.x += margin;
      b.y += top;
      out.boxes[members[p][i]] = b;
    }
    top += part.height + band_gap;
    widest = std::max(widest, part.width);
  }
  out.width = widest + 2 * margin;
  out.height = parts.empty() ? 2 * margin : top - band_gap + margin;
  return out;
}

std::string to_svg(const graph& g, const graph_layout& layout) {
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
      "viewBox=\"0 0 {0:.0f} {1:.0f}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" "
      "markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#555\"/></marker>"
      "</defs>\n<style>{2}</style>\n",
      layout.width, layout.height, svg_style);
  for (const auto& e : g.edges) {
    out += fmt::format(
        "<path class=\"edge {}\" data-from=\"{}\" data-to=\"{}\" d=\"{}\" "
        "marker-end=\"url(#arrow)\"/>\n",
        kind_name(e.kind), escaped(g.nodes[e.from].name), escaped(g.nodes[e.to].name),
        edge_path(layout.boxes[e.from], layout.boxes[e.to]));
  }
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const auto& n = g.nodes[i];
    const auto& b = layout.boxes[i];
    // A topic is a pill, a stage a box with rounded corners, a source a stadium.
    const double radius = n.kind == node_kind::stage ? 5 : b.height / 2;
    const double middle = b.x + b.width / 2;
    out += fmt::format(
        "<g class=\"node {}\" data-name=\"{}\"><title>{}</title>"
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" rx=\"{:.1f}\"/>",
        kind_name(n.kind), escaped(n.name), escaped(n.name), b.x, b.y, b.width, b.height, radius);
    const double label_y = n.detail.empty() ? b.y + b.height / 2 + 4 : b.y + 17;
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>", middle,
                       label_y, escaped(n.label));
    if (!n.detail.empty()) {
      out += fmt::format(
          "<text class=\"detail\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>",
          middle, b.y + 31, escaped(n.detail));
    }
    out += "</g>\n";
  }
  return out + "</svg>\n";
}

}  // namespace shfn::flow
