# Helpers the benchmark scripts share (bench/run-functions.sh, run-flows.sh,
# vs-pulsar-functions.sh); sourced after the caller has set `shfn` (the binary) and `work` (its
# temp dir, where shfn.log goes). `pid` is the shfn process start_shfn started, `start_ms` when,
# and R holds what record() kept.

pid=""
declare -A R

now_ms() { date +%s%3N; }

# The rest of the first line on fd 3 that starts with $1.
wait_line() {
  local line
  while IFS= read -r -t 180 line <&3; do
    case "$line" in "$1"*) printf '%s\n' "${line#"$1"}"; return 0 ;; esac
  done
  echo "no '$1' line; see $work/shfn.log" >&2
  tail -n 20 "$work/shfn.log" >&2
  return 1
}

# Starts a shfn command with its stdout on fd 3.
start_shfn() {
  start_ms=$(now_ms)
  exec 3< <(exec "$shfn" "$@" 2>>"$work/shfn.log")
  pid=$!
}

# SIGTERM, then waits (a drain is bounded by --drain-timeout).
stop_shfn() {
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 400); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "  !! shfn (pid $pid) still running 20 s after SIGTERM; killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  local code=0
  wait "$pid" 2>/dev/null || code=$?
  if [ "$code" != 0 ]; then echo "  !! shfn exited with code $code; see $work/shfn.log" >&2; fi
  exec 3<&-
  pid=""
}

# record KEY_PREFIX CMD...: runs a bench command, shows its lines, keeps its RESULTs.
record() {
  local prefix="$1" out tag name value
  shift
  out="$("$@" 2>&1)" || true
  printf '%s\n' "$out" | grep -v '^RESULT ' | sed 's/^/  /'
  while read -r tag name value; do R["$prefix.$name"]="$value"; done < <(printf '%s\n' "$out" | grep '^RESULT ' || true)
}

# The median of the numbers given (empty if none).
median() {
  printf '%s\n' "$@" | { grep -v '^$' || true; } | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# ---------------------------------------------------------------- figures as data, for plots

# Figures go to $SHFN_BENCH_FIGURES (default bench/results/ of this checkout) as one TSV per
# chart, which bench/plot.sh draws with gnuplot into docs/images/. A chart: `figures_begin NAME
# TITLE UNIT SERIES...` (its file, its title, what its numbers count, one column per series),
# then a `figures_row LABEL VALUE...` per group of bars (a value may be empty: no bar).
figures_dir() { printf '%s' "${SHFN_BENCH_FIGURES:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/results}"; }
figures_file=""
figures_begin() {
  local name="$1" title="$2" unit="$3"
  shift 3
  mkdir -p "$(figures_dir)"
  figures_file="$(figures_dir)/$name.tsv"
  {
    printf '# %s\t%s\t%s, %s cores, %s\n' "$title" "$unit" "$(date -u +%Y-%m-%d)" "$(nproc)" \
      "$(basename "$0")"
    printf 'figure'
    printf '\t%s' "$@"
    printf '\n'
  } >"$figures_file"
}
figures_row() {
  local label="$1"
  shift
  {
    printf '%s' "$label"
    printf '\t%s' "$@"
    printf '\n'
  } >>"$figures_file"
}
