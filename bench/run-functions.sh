#!/usr/bin/env bash
# Function benchmarks, side by side in one run, on the embedded broker and then on Apache Pulsar
# standalone (fsync on for both, as bench/run.sh):
#   - exec mode (a `#!/bin/sh` script that execs cat, parallelism 1 and 2): N messages
#     pre-published, then `shfn run` drains them; against the raw cost of spawning the same
#     script with the same input, environment and concurrency without a broker
#     (shfn::exec::run_once in a loop, and a plain posix_spawn loop for reference). Raw and
#     shfn alternate for SHFN_BENCH_EXEC_ROUNDS rounds (default 5, each on topics of its own);
#     the table shows the medians and the ratio of each round, since one run swings by 10-20
#     points on a shared 2-core machine;
#   - stream mode (`cat`, framing lines, parallelism 1 and 2): N messages pre-published, then
#     drained; then end-to-end latency at a fixed rate and at a fifth of it (parallelism 1);
#     and the executor alone (worker_pool without a broker) as a ceiling.
# Throughput is taken from the outputs' publish times, first to last (see function_bench.cc).
# Prints figures and a table; asserts nothing (a lost or duplicated message is printed).
#
#   bench/run-functions.sh [stream_messages] [exec_messages] [rate] [seconds]
#
# Env: SHFN_BUILD (build dir, default build-bench), SHFN_BENCH_SIDES ("embedded standalone"),
#      SHFN_BENCH_SHFN (the shfn binary to run functions with, default the build's),
#      SHFN_BENCH_PARTS ("exec stream": which modes to run; "exec" alone for quick A/B runs),
#      SHFN_BENCH_EXEC_ROUNDS (5).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stream_n="${1:-200000}"
exec_n="${2:-1000}"
exec_rounds="${SHFN_BENCH_EXEC_ROUNDS:-5}"
rate="${3:-5000}"
secs="${4:-10}"
low_rate=$((rate / 5))  # a second latency point, further from saturation
sides="${SHFN_BENCH_SIDES:-embedded standalone}"
parts="${SHFN_BENCH_PARTS:-exec stream}"
has_part() { case " $parts " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
build="${SHFN_BUILD:-$root/build-bench}"

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$build" shfn function_bench >/dev/null
shfn="${SHFN_BENCH_SHFN:-$build/src/cli/shfn}"  # another binary, to compare a change
fb="$build/bench/function_bench"

work="$(mktemp -d /tmp/shfn-fbench.XXXXXX)"
pulsar_dir="$work/pulsar"
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"  # start_shfn, stop_shfn, wait_line, record, median; `pid`, `R`
admin=""    # the admin URL of the shfn process running
service=""  # the broker URL its clients use
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  if [ -f "$pulsar_dir/env" ]; then
    bash scripts/pulsar-standalone.sh stop "$pulsar_dir" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Keeps the runtime's own counters (GET /status) of the instance under "$1".
record_status() {
  local body k
  body="$(curl -fsS "$admin/status" 2>/dev/null || true)"
  for k in processedSuccessfully userExceptions retried workerRestarts; do
    R["$1.$k"]="$(printf '%s' "$body" | grep -o "\"$k\": *[0-9]*" | head -n 1 | cut -d: -f2 | tr -d ' ')"
  done
  echo "  /status: processed ${R[$1.processedSuccessfully]:-?}, script failures" \
    "${R[$1.userExceptions]:-?}, retried ${R[$1.retried]:-?}, worker restarts ${R[$1.workerRestarts]:-?}"
}
# Folds the rounds "$1.r1", "$1.r2", ... into "$1": the medians of the rates and of the ratios,
# the ratio of each round, and the totals of what was lost, duplicated or failed.
summarize_rounds() {
  local key="$1" r field v
  local ratios=() ratio_list=""
  for field in run_once posix_spawn rate; do
    local values=()
    for r in $(seq 1 "$exec_rounds"); do values+=("${R[$key.r$r.$field]:-}"); done
    R["$key.$field"]="$(median "${values[@]}")"
  done
  for field in missing duplicates userExceptions; do
    local total=""
    for r in $(seq 1 "$exec_rounds"); do
      v="${R[$key.r$r.$field]:-}"
      if [ -n "$v" ]; then total=$(awk -v a="${total:-0}" -v b="$v" 'BEGIN { print a + b }'); fi
    done
    if [ -n "$total" ]; then R["$key.$field"]="$total"; fi
  done
  for r in $(seq 1 "$exec_rounds"); do
    local a="${R[$key.r$r.rate]:-}" b="${R[$key.r$r.run_once]:-}"
    if [ -n "$a" ] && [ -n "$b" ]; then
      ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { print 100 * a / b }')")
      ratio_list+="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f%% ", 100 * a / b }')"
    fi
  done
  R["$key.ratio"]="$(median "${ratios[@]}")"
  R["$key.ratios"]="${ratio_list% }"
}

# The script and specs, with topics unique to this run (the standalone may be shared).
write_specs() {
  local dir="$1" t="$2"
  mkdir -p "$dir"
  printf '#!/bin/sh\nexec cat\n' >"$dir/cat.sh"
  chmod +x "$dir/cat.sh"
  for p in 1 2; do
    for r in $(seq 1 "$exec_rounds"); do
      cat >"$dir/exec$p-r$r.yaml" <<EOF
kind: Function
metadata:
  name: exec-p$p
spec:
  script: cat.sh
  inputs: [$t-exec$p-r$r-in]
  output: $t-exec$p-r$r-out
  subscriptionPosition: Earliest
  parallelism: $p
EOF
    done
    cat >"$dir/stream$p.yaml" <<EOF
kind: Function
metadata:
  name: stream-p$p
spec:
  command: [cat]
  mode: stream
  framing: lines
  inputs: [$t-stream$p-in]
  output: $t-stream$p-out
  subscriptionPosition: Earliest
  parallelism: $p
EOF
  done
}

# Pre-publishes every input of a side.
produce_inputs() {
  local url="$1" t="$2"
  for p in 1 2; do
    if has_part exec; then
      for r in $(seq 1 "$exec_rounds"); do
        "$fb" produce "$url" "$t-exec$p-r$r-in" "$exec_n" | sed 's/^/  /'
      done
    fi
    if has_part stream; then "$fb" produce "$url" "$t-stream$p-in" "$stream_n" | sed 's/^/  /'; fi
  done
}

# Starts `shfn run SPEC` (with SHFN_RUN_ARGS...) and waits until it is ready; sets `service`, the
# URL for clients ($2, or the embedded broker's when $2 is empty), and `admin`.
run_function() {
  local spec="$1" given_url="$2"
  shift 2
  start_shfn run "$spec" --admin 127.0.0.1:0 --drain-timeout 5 "$@"
  service="$given_url"
  if [ -z "$service" ]; then service="$(wait_line "shfn broker ready on ")"; fi
  admin="$(wait_line "shfn admin ready on ")"
}

# Runs each function in its own `shfn run` and drains it; stream p1 then gets the latency run.
# run_functions SIDE DIR TOPIC_PREFIX CLIENT_URL|"" SHFN_RUN_ARGS...
run_functions() {
  local side="$1" dir="$2" t="$3" url="$4"
  shift 4
  for p in 1 2; do
    has_part exec || break
    for r in $(seq 1 "$exec_rounds"); do
      local round="$side.exec$p.r$r"
      echo "-- exec, parallelism $p, round $r: raw spawning without a broker"
      record "$round" "$fb" raw "$dir/exec$p-r$r.yaml" "exec-p$p" "$exec_n"
      echo "-- exec, parallelism $p, round $r: through shfn run"
      run_function "$dir/exec$p-r$r.yaml" "$url" "$@"
      record "$round" "$fb" drain "$service" "$t-exec$p-r$r-out" "$exec_n" 60 "$start_ms"
      record_status "$round"
      stop_shfn
    done
    summarize_rounds "$side.exec$p"
  done
  for p in 1 2; do
    has_part stream || break
    echo "-- stream, parallelism $p: through shfn run"
    run_function "$dir/stream$p.yaml" "$url" "$@"
    record "$side.stream$p" "$fb" drain "$service" "$t-stream$p-out" "$stream_n" 60 "$start_ms"
    if [ "$p" = 1 ]; then
      echo "-- stream, parallelism 1: latency at $rate msg/s for $secs s"
      record "$side.stream1" "$fb" latency "$service" "$t-stream1-in" "$t-stream1-out" "$rate" \
        "$secs"
      echo "-- stream, parallelism 1: latency at $low_rate msg/s for $secs s"
      record "$side.stream1.low" "$fb" latency "$service" "$t-stream1-in" "$t-stream1-out" \
        "$low_rate" "$secs"
    fi
    record_status "$side.stream$p"
    stop_shfn
  done
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "exec: $exec_n messages per run; stream: $stream_n messages per drain, latency at $rate msg/s" \
  "for $secs s; payload 100 B"
suffix="fb-$(date +%s)-$$"

write_specs "$work/specs" "$suffix"
if has_part stream; then
  echo "== stream executor alone (worker_pool, cat, 64 pipelined per worker, no broker)"
  for p in 1 2; do record "alone.stream$p" "$fb" raw-stream "$work/specs/stream$p.yaml" "stream-p$p" "$stream_n"; done
fi

for side in $sides; do
  case "$side" in
    embedded)
      echo "== embedded broker (in-process in shfn run; fsync on, group commit)"
      data="$work/embedded-data"
      start_shfn broker --listen 127.0.0.1:0 --data-dir "$data" --admin off
      url="$(wait_line "shfn broker ready on ")"
      produce_inputs "$url" "$suffix"
      stop_shfn  # `shfn run` opens the same data directory with its embedded broker
      run_functions embedded "$work/specs" "$suffix" "" --listen 127.0.0.1:0 --data-dir "$data"
      ;;
    standalone)
      echo "== Apache Pulsar standalone (fsync on the bookie journal)"
      t0=$(now_ms)
      SHFN_PULSAR_FSYNC=1 bash scripts/pulsar-standalone.sh start "$pulsar_dir" >/dev/null 2>&1
      echo "  started in $(($(now_ms) - t0)) ms"
      # shellcheck disable=SC1091
      . "$pulsar_dir/env"
      produce_inputs "$PULSAR_URL" "$suffix"
      run_functions standalone "$work/specs" "$suffix" "$PULSAR_URL" --url "$PULSAR_URL"
      bash scripts/pulsar-standalone.sh stop "$pulsar_dir" >/dev/null 2>&1 || true
      rm -f "$pulsar_dir/env"
      ;;
    *) echo "unknown side '$side'" >&2; exit 2 ;;
  esac
done

# ---------------------------------------------------------------- table
num() {  # value as an integer, or "-"
  local v="${R[$1]:-}"
  if [ -z "$v" ]; then printf -- '-'; else printf '%.0f' "$v"; fi
}
ms() { local v="${R[$1]:-}"; if [ -z "$v" ]; then printf -- '-'; else printf '%.1f' "$v"; fi; }
loss() {
  local m="${R[$1.missing]:-}" d="${R[$1.duplicates]:-}"
  if [ -z "$m" ]; then printf -- '-'; else printf '%.0f / %.0f' "$m" "$d"; fi
}
row() {
  local label="$1"
  shift
  printf '| %-52s |' "$label"
  for s in $sides; do printf ' %-22s |' "$("$@" "$s")"; done
  printf '\n'
}
cell() { local f="$1" k="$2" s="$3"; "$f" "$s.$k"; }
cell_ratio() { local v="${R[$2.$1.ratio]:-}"; if [ -z "$v" ]; then printf -- '-'; else printf '%.0f%%' "$v"; fi; }
cell_text() { printf '%s' "${R[$2.$1]:--}"; }
cell_lat() { printf '%s / %s / %s ms' "$(ms "$2.$1.p50")" "$(ms "$2.$1.p99")" "$(ms "$2.$1.max")"; }
cell_fail() { printf '%s / %s' "$(num "$2.$1.userExceptions")" "$(num "$2.$1.workerRestarts")"; }
cell_alone_p() { num "alone.stream$1.worker_pool"; }

echo
echo "== Functions: $(nproc) cores; exec $exec_n msgs, stream $stream_n msgs, 100 B payloads"
printf '| %-52s |' "msg/s unless said"
for s in $sides; do printf ' %-22s |' "$s"; done
printf '\n'
for p in 1 2; do
  row "exec p$p: raw exec::run_once (spawns/s, median)" cell num "exec$p.run_once"
  row "exec p$p: raw posix_spawn (spawns/s, median)" cell num "exec$p.posix_spawn"
  row "exec p$p: through shfn run (msg/s, median)" cell num "exec$p.rate"
  row "exec p$p: shfn / raw run_once, median (goal >= 95%)" cell_ratio "exec$p"
  row "exec p$p: shfn / raw run_once, each round" cell_text "exec$p.ratios"
  row "exec p$p: lost / duplicated" cell loss "exec$p"
  row "exec p$p: script failures (/status)" cell num "exec$p.userExceptions"
done
for p in 1 2; do
  row "stream p$p: executor alone, no broker" cell_alone_p "$p"
  row "stream p$p: drain (goal 500,000)" cell num "stream$p.rate"
  row "stream p$p: drain incl. start-up" cell num "stream$p.rate_with_startup"
  row "stream p$p: lost / duplicated" cell loss "stream$p"
  row "stream p$p: failures / worker restarts" cell_fail "stream$p"
done
row "stream p1: latency p50 / p99 / max @ $rate msg/s" cell_lat stream1
row "stream p1: latency p50 / p99 / max @ $low_rate msg/s" cell_lat stream1.low
row "stream p1: latency outputs missing" cell num "stream1.lat_missing"
row "stream p1: latency outputs missing (low rate)" cell num "stream1.low.lat_missing"

# ---------------------------------------------------------------- figures (bench/plot.sh)
names=()
for s in $sides; do names+=("shfn run, $s"); done
values() {  # "$1" (a key under each side) for every side
  local s
  for s in $sides; do printf '%s\n' "${R[$s.$1]:-}"; done
}
if has_part exec; then
  first="${sides%% *}"
  figures_begin functions-exec "Exec mode, a process per message: medians of $exec_rounds rounds" \
    "msg/s" "spawning alone (exec::run_once)" "${names[@]}"
  for p in 1 2; do
    mapfile -t v < <(values "exec$p.rate")
    figures_row "parallelism $p" "${R[$first.exec$p.run_once]:-}" "${v[@]}"
  done
fi
if has_part stream; then
  figures_begin functions-stream "Stream mode, cat workers, 100 B messages: a drain of $stream_n" \
    "msg/s" "executor alone, no broker" "${names[@]}"
  for p in 1 2; do
    mapfile -t v < <(values "stream$p.rate")
    figures_row "parallelism $p" "${R[alone.stream$p.worker_pool]:-}" "${v[@]}"
  done
  figures_begin functions-latency "Stream mode, parallelism 1: end-to-end latency at $rate msg/s" \
    "ms" "${names[@]}"
  for q in p50 p99; do
    mapfile -t v < <(values "stream1.$q")
    figures_row "$q" "${v[@]}"
  done
fi
echo "figures: $(figures_dir) (bench/plot.sh draws them)"
