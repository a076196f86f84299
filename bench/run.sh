#!/usr/bin/env bash
# Side-by-side benchmark, one run, same machine, same client:
#   - the embedded broker (`shfn broker`, fsync with group commit) and Apache Pulsar standalone:
#     time from start to ready, idle RSS, then the shfn client's throughput and publish latency;
#   - the official Python client against the standalone, for the client comparison.
# Prints figures and writes them for bench/plot.sh (bench/lib.sh); asserts nothing.
#
#   bench/run.sh [messages] [payload_bytes] [rate]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${SHFN_VENV:-${SHFN_CACHE:-$HOME/.cache/shfn}/venv}"
cmake --build build --target client_bench shfn >/dev/null

standalone="$(mktemp -d /tmp/shfn-bench.XXXXXX)"
embedded="$(mktemp -d /tmp/shfn-bench-embedded.XXXXXX)"
out="$(mktemp -d /tmp/shfn-bench-out.XXXXXX)"  # what each client run printed
broker_pid=""
cleanup() {
  [ -z "$broker_pid" ] || kill "$broker_pid" 2>/dev/null || true
  bash scripts/pulsar-standalone.sh stop "$standalone" >/dev/null 2>&1 || true
  rm -rf "$embedded" "$out"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"  # figures_begin, figures_row
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"

echo "== embedded broker (shfn broker, fsync on, group commit)"
t0=$(now_ms)
exec 3< <(exec ./build/src/cli/shfn broker --listen 127.0.0.1:0 --data-dir "$embedded" \
  --admin off 2>/dev/null)
broker_pid=$!
read -r line <&3
t1=$(now_ms)
url="${line##* on }"
sleep 1  # idle
R[embedded.ready]=$((t1 - t0))
R[embedded.rss]="$(rss_mb "$broker_pid")"
echo "ready in ${R[embedded.ready]} ms (process start to listening); idle RSS ${R[embedded.rss]} MB"
./build/bench/client_bench "$url" "$@" | tee "$out/embedded"
echo "RSS after the run $(rss_mb "$broker_pid") MB"
kill "$broker_pid"
broker_pid=""

echo "== Apache Pulsar standalone (fsync on the bookie journal)"
t0=$(now_ms)
SHFN_PULSAR_FSYNC=1 bash scripts/pulsar-standalone.sh start "$standalone" >/dev/null 2>&1
t1=$(now_ms)
. "$standalone/env"
sleep 1
R[standalone.ready]=$((t1 - t0))
R[standalone.rss]="$(rss_mb "$PULSAR_PID")"
echo "ready in ${R[standalone.ready]} ms (script start to serving topics); idle RSS ${R[standalone.rss]} MB"
./build/bench/client_bench "$PULSAR_URL" "$@" | tee "$out/standalone"
echo "== official Python client against the standalone"
"$venv/bin/python" bench/python_client_bench.py "$PULSAR_URL" "$@"

# ---------------------------------------------------------------- figures (bench/plot.sh)
# "shfn-client produce: ... = 123 msg/s ...", "shfn-client latency @ R msg/s: p50 X ms, p99 Y ms"
rate_in() { sed -n "s/^shfn-client $2: .* = \([0-9.]*\) msg\/s.*/\1/p" "$1" | head -n 1; }
latency_in() { sed -n "s/^shfn-client latency @ .*$2 \([0-9.]*\) ms.*/\1/p" "$1" | head -n 1; }
sides=("shfn broker (embedded)" "Apache Pulsar standalone")
figures_begin broker-throughput "The shfn client against each broker, fsync on both" "msg/s" \
  "${sides[@]}"
for what in produce consume; do
  figures_row "$what" "$(rate_in "$out/embedded" "$what")" \
    "$(rate_in "$out/standalone" "$what")"
done
figures_begin broker-latency "Publish latency, send to receipt, unbatched" "ms" "${sides[@]}"
for q in p50 p99; do
  figures_row "$q" "$(latency_in "$out/embedded" "$q")" \
    "$(latency_in "$out/standalone" "$q")"
done
figures_begin broker-startup "Start to ready" "ms" "${sides[@]}"
figures_row "start to ready" "${R[embedded.ready]}" "${R[standalone.ready]}"
figures_begin broker-memory "Resident memory, idle" "MB" "${sides[@]}"
figures_row "idle RSS" "${R[embedded.rss]}" "${R[standalone.rss]}"
echo "figures: $(figures_dir) (bench/plot.sh draws them)"

