#!/usr/bin/env bash
# Draws the benchmarks' figures (bench/results/*.tsv, written by run-functions.sh, run-flows.sh
# and vs-pulsar-functions.sh; bench/lib.sh's figures_begin says the format) as bar charts with
# gnuplot, one SVG per file, into docs/images/bench-NAME.svg, where docs/benchmarks.md shows them.
# With --check it only compares (ctest's benchmark_plots_up_to_date runs that in CI): the
# pictures in the docs must be the committed figures'.
#
#   bench/plot.sh [--check]     Env: SHFN_BENCH_FIGURES (default bench/results),
#                                    SHFN_BENCH_PLOTS (default docs/images)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
figures="${SHFN_BENCH_FIGURES:-$root/bench/results}"
plots="${SHFN_BENCH_PLOTS:-$root/docs/images}"
check=0
[ "${1:-}" = "--check" ] && check=1
command -v gnuplot >/dev/null || { echo "plot: no gnuplot here (apt-get install gnuplot-nox)" >&2; exit 1; }

# One chart: bars grouped by the file's rows, a colour per series (column).
draw() {
  local tsv="$1" svg="$2" title unit note columns rows
  IFS=$'\t' read -r title unit note < <(head -n 1 "$tsv" | sed 's/^# //')
  columns=$(sed -n 2p "$tsv" | awk -F'\t' '{ print NF }')
  rows=$(($(wc -l <"$tsv") - 2))
  gnuplot <<GNUPLOT
set terminal svg size 720,380 font "sans,11" background rgb "white"
set output "$svg"
set datafile separator "\t"
set datafile missing ""
set title "$title\n($note)" noenhanced
set ylabel "$unit" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside bottom center horizontal noenhanced
set grid ytics
set yrange [0:*]
set xrange [-0.6:$rows - 0.4]
set format y "%.1s%c"
set xtics noenhanced nomirror
set ytics nomirror
set border 3
set linetype 1 lc rgb "#3b6fd8"
set linetype 2 lc rgb "#e0913a"
set linetype 3 lc rgb "#3a9a55"
set linetype 4 lc rgb "#8a8a80"
plot for [i=2:$columns] "$tsv" using i:xtic(1) title columnheader(i)
GNUPLOT
}

stale=0
mkdir -p "$plots"
for tsv in "$figures"/*.tsv; do
  name="bench-$(basename "$tsv" .tsv).svg"
  if [ "$check" = 1 ]; then
    fresh="$(mktemp)"
    draw "$tsv" "$fresh"
    if ! cmp -s "$fresh" "$plots/$name"; then
      echo "plot: $plots/$name is not bench/plot.sh of $tsv" >&2
      stale=1
    fi
    rm -f "$fresh"
  else
    draw "$tsv" "$plots/$name"
    echo "plot: drew $plots/$name"
  fi
done
if [ "$stale" = 1 ]; then
  echo "plot: run bench/plot.sh and commit docs/images" >&2
  exit 1
fi
if [ "$check" = 1 ]; then echo "plot: every chart in $plots is bench/plot.sh of its figures"; fi
