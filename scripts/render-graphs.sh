#!/usr/bin/env bash
# Each example's picture, examples/NAME/graph.svg, is `shfn graph` of its spec, committed so that
# its README and docs/flows.md show it. This script draws them again; with --check it only
# compares (ctest's examples_graphs_up_to_date runs that in CI) and fails if a change to the
# drawing or to an example has not been drawn and committed.
#
#   scripts/render-graphs.sh [--check]     SHFN_BIN: the shfn binary (default: build/src/cli/shfn)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${SHFN_BIN:-$root/build/src/cli/shfn}"
specs=(examples/reverse/reverse.yaml examples/json-transform/transform.yaml
  examples/flaky/flaky.yaml examples/odd-even/odd-even.yaml examples/broker/broker.yaml
  examples/heartbeat/heartbeat.yaml)

[ -x "$bin" ] || { echo "render-graphs: no shfn binary at $bin (build it, or set SHFN_BIN)" >&2; exit 1; }
draw() { (cd "$root" && "$bin" graph "$1" -o "$2"); }

stale=0
for spec in "${specs[@]}"; do
  picture="$(dirname "$spec")/graph.svg"
  if [ "${1:-}" = "--check" ]; then
    fresh="$(mktemp)"
    draw "$spec" "$fresh"
    if ! cmp -s "$fresh" "$root/$picture"; then
      echo "render-graphs: $picture differs from \`shfn graph $spec\`" >&2
      stale=1
    fi
    rm -f "$fresh"
  else
    draw "$spec" "$root/$picture"
    echo "render-graphs: drew $picture from $spec"
  fi
done
if [ "$stale" = 1 ]; then
  echo "render-graphs: run scripts/render-graphs.sh and commit the pictures" >&2
  exit 1
fi
if [ "${1:-}" = "--check" ]; then echo "render-graphs: every example's graph.svg is up to date"; fi
