#!/usr/bin/env bash
# shfn against Pulsar Functions, side by side on one Apache Pulsar 4.0.8 standalone:
#   - shfn: `shfn run` of a stream-mode function `rev` (framing lines);
#   - Pulsar Functions: a Java function reversing the bytes of each message
#     (bench/pulsar-functions/), run by Pulsar's LocalRunner with the thread runtime (as
#     `pulsar-admin functions localrun` does; no functions worker), ATLEAST_ONCE, the function
#     producer's default batching, no state storage;
# each at parallelism 1 and 2, both subscribed from the earliest message.
# Each run: N messages of 100 B pre-published to a fresh input topic (function_bench produce),
# the function's process started, its output topic drained (function_bench drain --reversed):
#   - throughput over the second half of the outputs, from their publish times (output N/2 to
#     output N), so that the JVM is warm; and over the whole drain (first to last output);
#   - every output reversed back and checked to be exactly one input: missing, duplicated and
#     wrong outputs counted;
#   - start-up: from the process started to its first output published;
#   - memory: peak RSS (VmHWM) of the function's process just before it is stopped, with its
#     children's (shfn's `rev` workers; LocalRunner's thread runtime has none).
# Rounds interleave the two sides (odd rounds shfn first, even rounds LocalRunner first), on
# topics of their own; the table shows the medians, the shfn/LocalRunner ratios, and the ratio
# of each round, since one run swings by 10-20 points on a shared 2-core machine. Prints
# figures and a table; asserts nothing (a lost, duplicated or wrong output is printed).
#
#   bench/vs-pulsar-functions.sh [messages] [rounds]       (default 1000000 3)
#
# Env: SHFN_BUILD (build dir, default build), SHFN_BENCH_SHFN (the shfn binary, default the
#      build's), SHFN_BENCH_PULSAR_ENV (the env file of a standalone already running, see
#      scripts/pulsar-standalone.sh; default: one is started and stopped here),
#      SHFN_PULSAR_FSYNC (1: the standalone fsyncs its journal; default 0),
#      SHFN_BENCH_JAVA_OPTS (extra JVM options for LocalRunner, after pulsar-admin's own),
#      SHFN_BENCH_REVERSE (the shfn side's command as a YAML flow list, default [rev]; e.g.
#      '[perl, -lne, "BEGIN { $| = 1 } print scalar reverse"]': util-linux's rev makes about
#      six write calls per line, which costs it more CPU per message than shfn itself),
#      SHFN_CACHE (cache root, default ~/.cache/shfn), SHFN_MVN (default mvn).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
n="${1:-1000000}"
rounds="${2:-3}"
build="${SHFN_BUILD:-$root/build}"
cache="${SHFN_CACHE:-$HOME/.cache/shfn}"
mvn_bin="${SHFN_MVN:-mvn}"
sides="shfn localrunner"
reverse="${SHFN_BENCH_REVERSE:-[rev]}"

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target shfn function_bench >/dev/null
shfn="${SHFN_BENCH_SHFN:-$build/src/cli/shfn}"
fb="$build/bench/function_bench"

work="$(mktemp -d /tmp/shfn-vs-pf.XXXXXX)"
pulsar_dir="$work/pulsar"
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"  # record, median, now_ms; `R`
pid=""  # the function's process (shfn run or the LocalRunner JVM) currently running
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  if [ -f "$pulsar_dir/env" ]; then
    bash scripts/pulsar-standalone.sh stop "$pulsar_dir" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- LocalRunner's classpath

# Builds bench/pulsar-functions (the function's jar, LocalRunner's jars) into a cache dir keyed
# on the pom and the function's source, as scripts/setup-pulsar.sh does for the broker; prints
# that dir. A second run does no Maven work.
setup_localrunner() {
  local src="$root/bench/pulsar-functions" key base tmp
  key="$(cat "$src/pom.xml" "$src/src/main/java/dev/shfn/bench/Reverse.java" | sha256sum |
    cut -c1-16)"
  base="$cache/pulsar-functions/$key"
  mkdir -p "$base"
  if [ ! -f "$base/.complete" ]; then
    exec 9>"$base/.lock"
    flock 9
    if [ ! -f "$base/.complete" ]; then
      echo "resolving LocalRunner's jars with Maven (first run downloads ~100 MB)..." >&2
      tmp="$(mktemp -d "$base/.tmp.XXXXXX")"
      if ! "$mvn_bin" -q -B -gs "$root/tools/maven/central-mirror.xml" -f "$src/pom.xml" package \
          -Dshfn.build.dir="$tmp/build" -Dshfn.lib.dir="$tmp/lib" -Dshfn.jar.dir="$tmp" \
          >"$tmp/mvn.log" 2>&1; then
        tail -n 40 "$tmp/mvn.log" >&2
        rm -rf "$tmp"
        echo "maven build of bench/pulsar-functions failed" >&2
        return 1
      fi
      rm -rf "${base:?}/lib" "$base/reverse-function.jar"
      mv "$tmp/lib" "$base/lib"
      mv "$tmp/reverse-function.jar" "$base/reverse-function.jar"
      rm -rf "$tmp"
      touch "$base/.complete"
    fi
    exec 9>&-
  fi
  echo "$base"
}

# ---------------------------------------------------------------- results

# Peak RSS in MiB of process $1 and its direct children (VmHWM; each child's own peak).
peak_rss_mib() {
  local total=0 p kb
  for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    kb="$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)"
    total=$((total + ${kb:-0}))
  done
  awk -v kb="$total" 'BEGIN { printf "%.1f", kb / 1024 }'
}

# SIGTERM to the function's process, then waits; SIGKILL after 30 s.
stop_function() {
  local what="$1" code=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "  !! $what (pid $pid) still running 30 s after SIGTERM; killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || code=$?
  # 143: the JVM's exit status after its shutdown hooks ran on SIGTERM.
  if [ "$code" != 0 ] && [ "$code" != 143 ]; then
    echo "  !! $what exited with code $code; see $work/*.log" >&2
  fi
  pid=""
}

# ---------------------------------------------------------------- the two sides

# One run of `shfn run` with `rev` (or SHFN_BENCH_REVERSE): KEY PARALLELISM TOPIC_PREFIX.
run_shfn() {
  local key="$1" p="$2" t="$3" line
  cat >"$work/$t.yaml" <<EOF
kind: Function
metadata:
  name: rev-p$p
spec:
  command: $reverse
  mode: stream
  framing: lines
  inputs: [$t-in]
  output: $t-out
  subscriptionPosition: Earliest
  parallelism: $p
EOF
  "$fb" produce "$PULSAR_URL" "$t-in" "$n" | sed 's/^/  /'
  local start_ms
  start_ms=$(now_ms)
  # One event loop per core, as the figures in docs/benchmarks.md were taken.
  exec 3< <(exec "$shfn" run "$work/$t.yaml" --url "$PULSAR_URL" --admin 127.0.0.1:0 \
    --threads "$(nproc)" --drain-timeout 5 2>>"$work/$t.log")
  pid=$!
  # Ready first, so that a start-up failure shows as one; the drain's figures do not depend on
  # when it subscribes (publish times).
  while IFS= read -r -t 120 line <&3; do
    case "$line" in "shfn admin ready on "*) break ;; esac
  done
  record "$key" "$fb" drain --reversed "$PULSAR_URL" "$t-out" "$n" 60 "$start_ms"
  R["$key.rss"]="$(peak_rss_mib "$pid")"
  echo "  peak RSS: ${R[$key.rss]} MiB (shfn run and its $p rev workers)"
  stop_function "shfn run"
  exec 3<&-
}

# One run of LocalRunner with dev.shfn.bench.Reverse: KEY PARALLELISM TOPIC_PREFIX.
run_localrunner() {
  local key="$1" p="$2" t="$3"
  local ns="persistent://public/default"
  # FunctionConfig as JSON (what `pulsar-admin functions localrun` passes on). No stateStorage*
  # flags: no BookKeeper table service; producerConfig unset: the default batching.
  local config
  config="$(printf '{"tenant":"public","namespace":"default","name":"%s","runtime":"JAVA",%s}' \
    "$t" "$(printf '"className":"dev.shfn.bench.Reverse","jar":"%s","inputs":["%s"],"output":"%s","parallelism":%d,"processingGuarantees":"ATLEAST_ONCE","subscriptionPosition":"Earliest","autoAck":true' \
      "$lr_dir/reverse-function.jar" "$ns/$t-in" "$ns/$t-out" "$p")")"
  cat >"$work/$t-log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <File name="file" fileName="$work/$t.log" append="true">
      <PatternLayout pattern="%d{ISO8601} [%t] %-5level %logger{36} - %msg%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
EOF
  "$fb" produce "$PULSAR_URL" "$t-in" "$n" | sed 's/^/  /'
  local -a extra
  read -r -a extra <<<"${SHFN_BENCH_JAVA_OPTS:-}"
  local start_ms
  start_ms=$(now_ms)
  # The JVM options of Pulsar's bin/pulsar-admin-common.sh (heap: the JVM's default); the nar
  # extraction dir (LocalRunner unpacks the jar there) in $work.
  java -Djava.net.preferIPv4Stack=true \
    -Dio.netty.tryReflectionSetAccessible=true \
    -Dorg.apache.pulsar.shade.io.netty.tryReflectionSetAccessible=true \
    --add-opens java.base/sun.net=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED \
    --add-opens java.base/java.util.zip=ALL-UNNAMED \
    --add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/jdk.internal.misc=ALL-UNNAMED \
    "-Djava.io.tmpdir=$work" "-Dlog4j2.configurationFile=$work/$t-log4j2.xml" \
    "${extra[@]}" -cp "$lr_dir/lib/*" org.apache.pulsar.functions.LocalRunner \
    --functionConfig "$config" --brokerServiceUrl "$PULSAR_URL" --webServiceUrl "$PULSAR_HTTP" \
    --runtime THREAD </dev/null >>"$work/$t.log" 2>&1 &
  pid=$!
  record "$key" "$fb" drain --reversed "$PULSAR_URL" "$t-out" "$n" 60 "$start_ms"
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "  !! LocalRunner exited early; the end of its log:" >&2
    tail -n 20 "$work/$t.log" >&2
  fi
  R["$key.rss"]="$(peak_rss_mib "$pid")"
  echo "  peak RSS: ${R[$key.rss]} MiB (the LocalRunner JVM)"
  stop_function LocalRunner
}

# ---------------------------------------------------------------- run

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$n messages of 100 B per run, $rounds rounds, parallelism 1 and 2"
lr_dir="$(setup_localrunner)"
if [ -n "${SHFN_BENCH_PULSAR_ENV:-}" ]; then
  # shellcheck disable=SC1090
  . "$SHFN_BENCH_PULSAR_ENV"
  echo "== Apache Pulsar standalone: the one of $SHFN_BENCH_PULSAR_ENV"
else
  t0=$(now_ms)
  bash scripts/pulsar-standalone.sh start "$pulsar_dir" >/dev/null 2>"$work/standalone.log" || {
    tail -n 30 "$work/standalone.log" >&2
    exit 1
  }
  # shellcheck disable=SC1091
  . "$pulsar_dir/env"
  echo "== Apache Pulsar standalone started in $(($(now_ms) - t0)) ms" \
    "(journal fsync $([ "${SHFN_PULSAR_FSYNC:-0}" = 1 ] && echo on || echo off))"
fi
suffix="vspf-$(date +%s)-$$"

for r in $(seq 1 "$rounds"); do
  order="$sides"
  if [ $((r % 2)) = 0 ]; then order="localrunner shfn"; fi
  for p in 1 2; do
    for side in $order; do
      t="$suffix-$side-p$p-r$r"
      case "$side" in
        shfn)
          echo "-- round $r, parallelism $p: shfn run, $reverse (stream mode)"
          run_shfn "shfn.p$p.r$r" "$p" "$t"
          ;;
        localrunner)
          echo "-- round $r, parallelism $p: Pulsar Functions LocalRunner, Reverse (thread runtime)"
          run_localrunner "localrunner.p$p.r$r" "$p" "$t"
          ;;
      esac
    done
  done
done

if [ -z "${SHFN_BENCH_PULSAR_ENV:-}" ]; then
  bash scripts/pulsar-standalone.sh stop "$pulsar_dir" >/dev/null 2>&1 || true
  rm -f "$pulsar_dir/env"
fi

# ---------------------------------------------------------------- table

# Medians over the rounds ("$side.p$p.$field"), totals of what was lost, and the ratio of each
# round's second-half rates.
for p in 1 2; do
  for side in $sides; do
    for field in rate_second_half rate startup_ms rss; do
      values=()
      for r in $(seq 1 "$rounds"); do values+=("${R[$side.p$p.r$r.$field]:-}"); done
      R["$side.p$p.$field"]="$(median "${values[@]}")"
    done
    for field in missing duplicates wrong; do
      total=0
      for r in $(seq 1 "$rounds"); do
        v="${R[$side.p$p.r$r.$field]:-}"
        # A drain that printed nothing (it could not subscribe): everything is missing.
        if [ -z "$v" ]; then if [ "$field" = missing ]; then v="$n"; else v=0; fi; fi
        total=$(awk -v a="$total" -v b="$v" 'BEGIN { print a + b }')
      done
      R["$side.p$p.$field"]="$total"
    done
  done
  list=""
  for r in $(seq 1 "$rounds"); do
    a="${R[shfn.p$p.r$r.rate_second_half]:-}" b="${R[localrunner.p$p.r$r.rate_second_half]:-}"
    if [ -n "$a" ] && [ -n "$b" ]; then
      list+="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx ", a / b }')"
    else
      list+="- "
    fi
  done
  R["p$p.ratios"]="${list% }"
done

num() { local v="${R[$1]:-}"; if [ -z "$v" ]; then printf -- '-'; else printf "%.${2:-0}f" "$v"; fi; }
ratio() {  # shfn / LocalRunner of "$1" (a field), with $2 decimals
  local a="${R[shfn.$1]:-}" b="${R[localrunner.$1]:-}"
  if [ -z "$a" ] || [ -z "$b" ] || [ "$(awk -v b="$b" 'BEGIN { print (b == 0) }')" = 1 ]; then
    printf -- '-'
  else
    awk -v a="$a" -v b="$b" -v d="${2:-2}" 'BEGIN { printf "%.*fx", d, a / b }'
  fi
}
row() { printf '| %-46s | %-14s | %-14s | %-18s |\n' "$@"; }
loss() { printf '%s / %s / %s' "$(num "$1.missing")" "$(num "$1.duplicates")" "$(num "$1.wrong")"; }

echo
echo "== shfn vs Pulsar Functions (LocalRunner, thread runtime) on Apache Pulsar standalone:" \
  "$(nproc) cores; $n msgs of 100 B, $rounds rounds, medians"
echo "shfn's command: $reverse"
row "" "shfn run" "LocalRunner" "shfn/LocalRunner"
row "----------------------------------------------" "--------------" "--------------" "------------------"
for p in 1 2; do
  row "p$p: msg/s, second half of the outputs" "$(num "shfn.p$p.rate_second_half")" \
    "$(num "localrunner.p$p.rate_second_half")" "$(ratio "p$p.rate_second_half") (goal >= 2x)"
  row "p$p: second half, shfn/LocalRunner each round" "" "" "${R[p$p.ratios]}"
  row "p$p: msg/s, whole drain (first to last)" "$(num "shfn.p$p.rate")" \
    "$(num "localrunner.p$p.rate")" "$(ratio "p$p.rate")"
  row "p$p: start-up to first output (ms)" "$(num "shfn.p$p.startup_ms")" \
    "$(num "localrunner.p$p.startup_ms")" "$(ratio "p$p.startup_ms" 3)"
  row "p$p: peak RSS (MiB)" "$(num "shfn.p$p.rss" 1)" "$(num "localrunner.p$p.rss" 1)" \
    "$(ratio "p$p.rss" 3)"
  row "p$p: missing / duplicated / wrong (all rounds)" "$(loss "shfn.p$p")" \
    "$(loss "localrunner.p$p")" ""
done
lost=0
for side in $sides; do
  for p in 1 2; do
    for field in missing duplicates wrong; do
      lost=$(awk -v a="$lost" -v b="${R[$side.p$p.$field]}" 'BEGIN { print a + b }')
    done
  done
done
echo "loss: $lost outputs missing, duplicated or wrong over $((rounds * 4)) runs of $n messages" \
  "(every output reversed back and compared with its input)"

# ---------------------------------------------------------------- figures (bench/plot.sh)
figures_begin vs-pulsar-functions-throughput \
  "shfn against Pulsar Functions (LocalRunner) on one standalone: second half of a $n-message drain, medians of $rounds" \
  "msg/s" "shfn run" "LocalRunner"
for p in 1 2; do
  figures_row "parallelism $p" "${R[shfn.p$p.rate_second_half]:-}" \
    "${R[localrunner.p$p.rate_second_half]:-}"
done
figures_begin vs-pulsar-functions-startup "shfn against Pulsar Functions: start-up to the first output" \
  "ms" "shfn run" "LocalRunner"
for p in 1 2; do
  figures_row "parallelism $p" "${R[shfn.p$p.startup_ms]:-}" "${R[localrunner.p$p.startup_ms]:-}"
done
figures_begin vs-pulsar-functions-memory "shfn against Pulsar Functions: peak RSS, workers included" \
  "MiB" "shfn run" "LocalRunner"
for p in 1 2; do
  figures_row "parallelism $p" "${R[shfn.p$p.rss]:-}" "${R[localrunner.p$p.rss]:-}"
done
echo "figures: $(figures_dir) (bench/plot.sh draws them)"
