#!/usr/bin/env bash
# Side-by-side benchmark, one run, same machine, same client:
#   - the embedded broker (`shfn broker`, fsync with group commit) and Apache Pulsar standalone:
#     time from start to ready, idle RSS, then the shfn client's throughput and publish latency;
#   - the official Python client against the standalone, for the client comparison.
# Prints figures; asserts nothing.
#
#   bench/run.sh [messages] [payload_bytes] [rate]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${SHFN_VENV:-${SHFN_CACHE:-$HOME/.cache/shfn}/venv}"
cmake --build build --target client_bench shfn >/dev/null

standalone="$(mktemp -d /tmp/shfn-bench.XXXXXX)"
embedded="$(mktemp -d /tmp/shfn-bench-embedded.XXXXXX)"
broker_pid=""
cleanup() {
  [ -z "$broker_pid" ] || kill "$broker_pid" 2>/dev/null || true
  bash scripts/pulsar-standalone.sh stop "$standalone" >/dev/null 2>&1 || true
  rm -rf "$embedded"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
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
echo "ready in $((t1 - t0)) ms (process start to listening); idle RSS $(rss_mb "$broker_pid") MB"
./build/bench/client_bench "$url" "$@"
echo "RSS after the run $(rss_mb "$broker_pid") MB"
kill "$broker_pid"
broker_pid=""

echo "== Apache Pulsar standalone (fsync on the bookie journal)"
t0=$(now_ms)
SHFN_PULSAR_FSYNC=1 bash scripts/pulsar-standalone.sh start "$standalone" >/dev/null 2>&1
t1=$(now_ms)
. "$standalone/env"
sleep 1
echo "ready in $((t1 - t0)) ms (script start to serving topics); idle RSS $(rss_mb "$PULSAR_PID") MB"
./build/bench/client_bench "$PULSAR_URL" "$@"
echo "== official Python client against the standalone"
"$venv/bin/python" bench/python_client_bench.py "$PULSAR_URL" "$@"
