#!/usr/bin/env bash
# Flow benchmark: a Parallel of two branches run by `shfn run` on its embedded broker (fsync on,
# group commit), every output checked.
#   - throughput: N events (binary-mode CloudEvents, 100 B of data holding a sequence number)
#     pre-published to the Parallel's ingress, then `shfn run` drains them. No filters (each
#     branch still has its pass-all filter stage, which runs no process); each branch's
#     subscriber is a stream-mode function (`cat`, framing lines, parallelism 1); both branches
#     reply to one topic, which bench/flow_bench drains, checking that every input came back
#     exactly once from each branch (the branch is read from the output's ce_shfnhistory).
#     Events/s = inputs / (first to last output publish time); each input makes two outputs.
#     SHFN_BENCH_FLOW_ROUNDS rounds (default 3), each on a data directory of its own; the table
#     shows the median and each round, since one run swings on a shared 2-core machine;
#   - hop latency: after the last round's drain, in the same `shfn run`, RATE events/s for
#     SECONDS with the send time in the data; end-to-end latency of every output (one per input
#     and branch), p50 / p99 / max, and the same per hop.
#
# Hops, from src/flow/plan.h: a Parallel P with ingress I makes, per branch i, two stages,
#   I --[P-branch-i-filter: pass-all]--> I-branch-i --[P-branch-i-subscriber: cat]--> reply
# and a `topic` reply adds no sink stage. So an event crosses 3 topics (ingress -> branch
# channel -> subscriber stage -> reply): 3 hops, each a publish, the broker's write and dispatch,
# and the receipt by the next reader (a stage, or the bench for the reply). Latency per hop is
# end to end / 3: an average, not a measured hop; the subscriber hop also runs the process.
# Prints figures and a table; asserts nothing (a lost or duplicated event is printed).
#
#   bench/run-flows.sh [events] [rate] [seconds]      (defaults 200000 2000 10)
#
# Env: SHFN_BUILD (build dir, default build), SHFN_BENCH_SHFN (the shfn binary, default the
#      build's), SHFN_BENCH_FLOW_ROUNDS (3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
events="${1:-200000}"
rate="${2:-2000}"
secs="${3:-10}"
rounds="${SHFN_BENCH_FLOW_ROUNDS:-3}"
hops=3
branches=2
build="${SHFN_BUILD:-$root/build}"

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j2 --target shfn flow_bench >/dev/null
shfn="${SHFN_BENCH_SHFN:-$build/src/cli/shfn}"  # another binary, to compare a change
fb="$build/bench/flow_bench"

work="$(mktemp -d /tmp/shfn-flowbench.XXXXXX)"
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"  # start_shfn, stop_shfn, wait_line, record, median; `pid`, `R`
admin=""    # its admin URL
service=""  # the broker URL its clients use
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The runtime's own counters (GET /status), summed over the stages: processed, failures, retries.
record_status() {
  local body k v
  body="$(curl -fsS "$admin/status" 2>/dev/null || true)"
  for k in processedSuccessfully userExceptions retried workerRestarts; do
    v="$(printf '%s' "$body" | grep -o "\"$k\": *[0-9]*" | cut -d: -f2 | tr -d ' ' |
      awk '{ s += $1 } END { if (NR) print s }')"
    R["$1.$k"]="$v"
  done
  echo "  /status, all stages: processed ${R[$1.processedSuccessfully]:-?}, failures" \
    "${R[$1.userExceptions]:-?}, retried ${R[$1.retried]:-?}, worker restarts ${R[$1.workerRestarts]:-?}"
}

flow=bench-parallel
ingress="$flow"        # the Parallel's default ingress: its name
reply="$flow-reply"
filter_subs="$flow-branch-0-filter,$flow-branch-1-filter"  # the filter stages' subscriptions

spec="$work/parallel.yaml"
cat >"$spec" <<EOF
kind: Function
metadata:
  name: cat-stream
spec:
  command: [cat]
  mode: stream
  framing: lines
---
kind: Parallel
metadata:
  name: $flow
spec:
  branches:
    - subscriber: {ref: {name: cat-stream}}
    - subscriber: {ref: {name: cat-stream}}
  reply: {topic: $reply}
EOF

echo "machine: nproc $(nproc), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Parallel of $branches branches (no filter; subscriber cat, stream mode, lines), reply to a" \
  "topic; $events events x $rounds rounds, then latency at $rate events/s for $secs s; 100 B data"

for r in $(seq 1 "$rounds"); do
  key="r$r"
  data="$work/data-$r"
  echo "== round $r: pre-publish $events events to $ingress (shfn broker, same data directory)"
  start_shfn broker --listen 127.0.0.1:0 --data-dir "$data" --admin off
  url="$(wait_line "shfn broker ready on ")"
  # The filter stages subscribe at Latest: their subscriptions must exist before the events.
  record "$key" "$fb" produce "$url" "$ingress" "$events" 100 "$filter_subs"
  stop_shfn  # `shfn run` opens the same data directory with its embedded broker
  echo "== round $r: shfn run drains the Parallel"
  start_shfn run "$spec" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --data-dir "$data" \
    --drain-timeout 5
  service="$(wait_line "shfn broker ready on ")"
  admin="$(wait_line "shfn admin ready on ")"
  record "$key" "$fb" drain "$service" "$reply" "$events" "$branches" 60 "$start_ms"
  if [ "$r" = "$rounds" ]; then
    echo "== latency at $rate events/s for $secs s (same shfn run)"
    record lat "$fb" latency "$service" "$ingress" "$reply" "$branches" "$rate" "$secs" "$hops"
  fi
  record_status "$key"
  stop_shfn
  rm -rf "$data"
done

# Folds the rounds: medians of the rates, each round's rate, totals of what went wrong.
rates=() startup_rates=() rate_list=""
for field in missing duplicates unexpected userExceptions workerRestarts; do R["all.$field"]=""; done
for r in $(seq 1 "$rounds"); do
  rates+=("${R[r$r.rate]:-}")
  startup_rates+=("${R[r$r.rate_with_startup]:-}")
  rate_list+="$(printf '%.0f ' "${R[r$r.rate]:-0}")"
  for field in missing duplicates unexpected userExceptions workerRestarts; do
    v="${R[r$r.$field]:-}"
    if [ -n "$v" ]; then R["all.$field"]=$(awk -v a="${R[all.$field]:-0}" -v b="$v" 'BEGIN { print a + b }'); fi
  done
done
R[all.rate]="$(median "${rates[@]}")"
R[all.rate_with_startup]="$(median "${startup_rates[@]}")"

# ---------------------------------------------------------------- table
num() { local v="${R[$1]:-}"; if [ -z "$v" ]; then printf -- '-'; else printf '%.0f' "$v"; fi; }
ms() { local v="${R[$1]:-}"; if [ -z "$v" ]; then printf -- '-'; else printf '%.2f' "$v"; fi; }
row() { printf '| %-56s | %-26s |\n' "$1" "$2"; }

echo
echo "== Flows: Parallel of $branches branches on the embedded broker; nproc $(nproc);" \
  "$events events x $rounds rounds; 100 B data"
row "figure" "value"
row "throughput, events/s (median of $rounds)" "$(num all.rate)"
row "throughput, outputs/s (median x $branches)" \
  "$(awk -v a="${R[all.rate]:-0}" -v b="$branches" 'BEGIN { printf "%.0f", a * b }')"
row "throughput, events/s, each round" "${rate_list% }"
row "throughput incl. start-up, events/s (median)" "$(num all.rate_with_startup)"
row "outputs missing / duplicated / unexpected (all rounds)" \
  "$(num all.missing) / $(num all.duplicates) / $(num all.unexpected)"
row "stage failures / worker restarts (/status, all rounds)" \
  "$(num all.userExceptions) / $(num all.workerRestarts)"
row "latency @ $rate ev/s, end to end p50 / p99 / max" \
  "$(ms lat.p50) / $(ms lat.p99) / $(ms lat.max) ms"
row "latency per hop (/ $hops) p50 / p99 / max" \
  "$(ms lat.hop_p50) / $(ms lat.hop_p99) / $(ms lat.hop_max) ms"
row "latency outputs missing / duplicated" "$(num lat.lat_missing) / $(num lat.lat_duplicates)"

# ---------------------------------------------------------------- figures (bench/plot.sh)
figures_begin flows-throughput "A Parallel of two branches (cat in stream mode), embedded broker" \
  "per second" "events in" "outputs (one per branch)"
figures_row "median of $rounds drains" "${R[all.rate]:-}" \
  "$(awk -v r="${R[all.rate]:-0}" -v b="$branches" 'BEGIN { print r * b }')"
figures_begin flows-latency "A Parallel of two branches at $rate events/s: latency" "ms" \
  "end to end (3 hops)" "per hop"
for q in p50 p99; do figures_row "$q" "${R[lat.$q]:-}" "${R[lat.hop_$q]:-}"; done
echo "figures: $(figures_dir) (bench/plot.sh draws them)"
