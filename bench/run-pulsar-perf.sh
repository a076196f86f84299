#!/usr/bin/env bash
# Pulsar's own load generator, `pulsar-perf` (the official Java client), against the embedded
# broker and Apache Pulsar standalone side by side in one run, both brokers up for the whole
# run and the rounds interleaved (embedded, standalone, embedded, ...), fsync on for both as in
# bench/run.sh. Per round and broker:
#   - produce: N messages as fast as the producer goes (batching as pulsar-perf's default:
#     1 ms, 1,000 messages), throughput from "Created 1 producers" to "Closed Producer" (the
#     last receipt is in), and the send-to-receipt latency under that load;
#   - consume: the same N messages drained by a new subscription from the earliest;
#   - latency: a fixed rate with batching off for 10 s, send-to-receipt percentiles.
# Prints every round and the medians, with the ratios; asserts nothing.
#
#   bench/run-pulsar-perf.sh [messages] [payload_bytes] [rate]
#
# Env: SHFN_BUILD (build dir, default build), SHFN_BENCH_ROUNDS (3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
messages="${1:-1000000}"
size="${2:-100}"
rate="${3:-5000}"
rounds="${SHFN_BENCH_ROUNDS:-3}"
build="${SHFN_BUILD:-build}"
cmake --build "$build" --target shfn >/dev/null
lib="$(bash scripts/setup-pulsar.sh)"

work="$(mktemp -d /tmp/shfn-perf.XXXXXX)"
broker_pid=""
cleanup() {
  [ -z "$broker_pid" ] || kill "$broker_pid" 2>/dev/null || true
  bash scripts/pulsar-standalone.sh stop "$work/standalone" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
: >"$work/client.conf"  # pulsar-perf's first argument: a client config file; flags say it all

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
exec 3< <(exec "./$build/src/cli/shfn" broker --listen 127.0.0.1:0 --data-dir "$work/embedded" \
  --admin off 2>/dev/null)
broker_pid=$!
read -r line <&3
embedded_url="${line##* on }"
SHFN_PULSAR_FSYNC=1 bash scripts/pulsar-standalone.sh start "$work/standalone" >/dev/null 2>&1
standalone_url="$(sed -n 's/^PULSAR_URL=//p' "$work/standalone/env")"

perf() {
  java -Xms512m -Xmx512m -cp "$lib/*" org.apache.pulsar.testclient.PulsarPerfTestTool \
    "$work/client.conf" "$@" >"$log" 2>&1
}

# Figures from one pulsar-perf log, as "name value" lines.
figures() {
  python3 - "$1" "$2" "$messages" <<'EOF'
import re, sys
from datetime import datetime
path, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(path, errors="replace").read()
def stamp(pattern):
    m = re.search(r"^(\S+) .*" + pattern, text, re.M)
    return datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S,%f") if m else None
def latency(prefix):
    m = re.search(r"Aggregated latency stats --- Latency: mean:\s*([\d.]+) ms - med:\s*([\d.]+)"
                  r" - 95pct:\s*([\d.]+) - 99pct:\s*([\d.]+) - 99.9pct:\s*([\d.]+)", text)
    if m:
        print(f"{prefix}_p50_ms {m.group(2)}\n{prefix}_p99_ms {m.group(4)}\n{prefix}_p999_ms {m.group(5)}")
if kind == "produce":
    start, end = stamp(r"Created 1 producers"), stamp(r"Closed Producer")
    if start and end:
        print(f"produce_msg_s {n / (end - start).total_seconds():.0f}")
    latency("produce_loaded")
elif kind == "consume":
    m = re.search(r"Aggregated throughput stats --- (\d+) records received --- ([\d.]+) msg/s", text)
    if m:
        print(f"consume_msg_s {float(m.group(2)):.0f}")
        if int(m.group(1)) != n:
            print(f"consume_missing {n - int(m.group(1))}")
else:
    latency("publish")
EOF
}

results="$work/results"
for round in $(seq 1 "$rounds"); do
  for side in embedded standalone; do
    url="$embedded_url"
    [ "$side" = embedded ] || url="$standalone_url"
    topic="perf-$side-$round"
    log="$work/$topic.produce.log"
    perf produce -u "$url" -m "$messages" -s "$size" -r 100000000 "$topic"
    figures "$log" produce | sed "s/^/$side $round /" >>"$results"
    log="$work/$topic.consume.log"
    perf consume -u "$url" -ss bench -sp Earliest -m "$messages" "$topic"
    figures "$log" consume | sed "s/^/$side $round /" >>"$results"
    log="$work/$topic.latency.log"
    perf produce -u "$url" -r "$rate" -time 10 -db -s "$size" "$topic-latency"
    figures "$log" latency | sed "s/^/$side $round /" >>"$results"
    echo "round $round, $side: $(grep "^$side $round " "$results" | cut -d' ' -f3- | tr '\n' ' ')"
  done
done

python3 - "$results" "$messages" "$size" "$rate" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
by = {}
for side, _, name, value in rows:
    by.setdefault((name, side), []).append(float(value))
names = [
    ("produce_msg_s", "produce (batched), msg/s"), ("produce_loaded_p50_ms", "  its latency p50, ms"),
    ("produce_loaded_p99_ms", "  its latency p99, ms"), ("consume_msg_s", "consume, msg/s"),
    ("publish_p50_ms", f"publish p50 at {sys.argv[4]} msg/s unbatched, ms"),
    ("publish_p99_ms", "publish p99, ms"), ("publish_p999_ms", "publish p99.9, ms"),
    ("consume_missing", "messages missing in consume")]
print(f"\npulsar-perf, {sys.argv[2]} messages of {sys.argv[3]} bytes; medians over rounds (each round)")
print(f"| | embedded | standalone | embedded / standalone |\n|---|---|---|---|")
for key, label in names:
    e, s = by.get((key, "embedded"), []), by.get((key, "standalone"), [])
    if not e and not s:
        continue
    def number(x):
        return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"
    def cell(v):
        return f"{number(statistics.median(v))} ({', '.join(number(x) for x in v)})" if v else "-"
    ratio = f"{statistics.median(e) / statistics.median(s):.2f}" if e and s and statistics.median(s) else "-"
    print(f"| {label} | {cell(e)} | {cell(s)} | {ratio} |")
EOF
