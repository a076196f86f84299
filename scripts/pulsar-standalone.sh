#!/usr/bin/env bash
# Run an Apache Pulsar standalone (broker + one bookie, RocksDB metadata)
# bound to 127.0.0.1 on free ports, for tests.
#
#   pulsar-standalone.sh start [--tls] [--token] DIR
#   pulsar-standalone.sh restart DIR
#   pulsar-standalone.sh stop DIR
#   pulsar-standalone.sh status DIR
#
# start wipes DIR's data and picks fresh ports; restart stops the broker
# (SIGTERM) and starts it again on the same ports with the same data, as a
# broker restart in production would.
#
# start writes DIR/env (KEY=VALUE lines, also printed on stdout):
#   PULSAR_URL, PULSAR_HTTP, PULSAR_PID, PULSAR_LOG, PULSAR_BOOKIE_PORT
#   with --tls:   PULSAR_TLS_URL, PULSAR_HTTPS, PULSAR_CA
#   with --token: PULSAR_TOKEN (HS256 JWT, sub=$SHFN_PULSAR_ROLE)
#
# Env:
#   SHFN_CACHE                 cache root, see setup-pulsar.sh
#   SHFN_PULSAR_START_TIMEOUT  seconds to wait for readiness (default 180)
#   SHFN_PULSAR_STOP_TIMEOUT   seconds before SIGKILL on stop (default 30)
#   SHFN_PULSAR_HEAP           java heap (default 768m)
#   SHFN_PULSAR_JAVA_OPTS      extra JVM options (appended last, so they
#                              override). "-XX:TieredStopAtLevel=1" (C1 JIT
#                              only) starts faster on 2 cores (measured ~10s
#                              -> 8s idle, ~20s -> 11s with a busy CPU) at the
#                              cost of peak throughput; not the default so
#                              benchmarks see a normally tuned JVM.
#   SHFN_PULSAR_ROLE           token subject (default shfn-test)
#   SHFN_PULSAR_FSYNC          1: the bookie fsyncs its journal before acknowledging
#                              (journalSyncData=true); default 0 for fast tests
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
START_TIMEOUT="${SHFN_PULSAR_START_TIMEOUT:-180}"
STOP_TIMEOUT="${SHFN_PULSAR_STOP_TIMEOUT:-30}"
HEAP="${SHFN_PULSAR_HEAP:-768m}"
ROLE="${SHFN_PULSAR_ROLE:-shfn-test}"
if [ "${SHFN_PULSAR_FSYNC:-0}" = 1 ]; then JOURNAL_SYNC=true; else JOURNAL_SYNC=false; fi
MAIN_CLASS=org.apache.pulsar.PulsarStandaloneStarter

log() { echo "pulsar-standalone: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  echo "usage: $0 start [--tls] [--token] DIR | restart DIR | stop DIR | status DIR" >&2
  exit 2
}

# ---------------------------------------------------------------- helpers

# Print N distinct free TCP ports on 127.0.0.1. All sockets are held open
# until every port is chosen so that the N ports are distinct.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# The pid in DIR/pid, only if it is alive and really our standalone for DIR
# (guards against pid reuse after a crash).
running_pid() {
  local dir="$1" pid
  [ -f "$dir/pid" ] || return 1
  pid="$(cat "$dir/pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$MAIN_CLASS --config $dir/" || return 1
  echo "$pid"
}

# Value of KEY in DIR/env (empty if absent).
env_get() {
  sed -n "s/^$2=//p" "$1/env" 2>/dev/null | head -n 1
}

# curl against the admin API, adding the bearer token if there is one.
admin_curl() {
  local token="$1"; shift
  local auth=()
  [ -z "$token" ] || auth=(-H "Authorization: Bearer $token")
  curl -sS --max-time 10 "${auth[@]}" "$@"
}

# ---------------------------------------------------------------- TLS / token

# Self-signed CA + server cert for 127.0.0.1/localhost. Pulsar's OpenSSL/JDK
# TLS providers want the key as unencrypted PKCS#8 PEM.
gen_tls() {
  local d="$1/tls"
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=shfn-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$d/ca.key" -out "$1/ca.pem" 2>/dev/null
  openssl req -new -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    "extendedKeyUsage=serverAuth" "basicConstraints=CA:FALSE" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$1/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -days 3650 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$d/server.key" -out "$d/server.key-pk8.pem"
}

# 32 random bytes used verbatim as the HS256 key (tokenSecretKey=file://
# reads the file's raw bytes), and a JWT {"sub": ROLE} signed with it.
gen_token() {
  local d="$1/auth"
  mkdir -p "$d"
  openssl rand -out "$d/secret.key" 32
  python3 - "$d/secret.key" "$ROLE" >"$d/token" <<'EOF'
import base64, hashlib, hmac, json, sys
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
key = open(sys.argv[1], "rb").read()
head = b64(json.dumps({"alg": "HS256"}, separators=(",", ":")).encode())
body = b64(json.dumps({"sub": sys.argv[2]}, separators=(",", ":")).encode())
sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{b64(sig)}")
EOF
}

# ---------------------------------------------------------------- config

# The same file is read as broker ServiceConfiguration *and* as the bookie's
# ServerConfiguration, so bookie keys live here too.
write_conf() {
  local dir="$1" bport="$2" wport="$3"
  cat >"$dir/standalone.conf" <<EOF
clusterName=standalone
# Empty => RocksDB metadata store in --metadata-dir (no ZooKeeper, no 2181).
metadataStoreUrl=
configurationMetadataStoreUrl=
brokerServicePort=$bport
webServicePort=$wport
bindAddress=127.0.0.1
advertisedAddress=127.0.0.1
# Bookie: bind to the loopback address instead of 0.0.0.0.
listeningInterface=lo
allowLoopback=true
ledgerStorageClass=org.apache.bookkeeper.bookie.storage.ldb.DbLedgerStorage
# Tests run without fsync for speed; the benchmark turns it on (SHFN_PULSAR_FSYNC=1) to
# compare like with like against the embedded broker.
journalSyncData=$JOURNAL_SYNC
journalMaxGroupWaitMSec=1
diskUsageThreshold=0.99
diskUsageWarnThreshold=0.99
# Small fixed caches: keeps RSS low; defaults scale with direct memory.
dbStorage_writeCacheMaxSizeMb=32
dbStorage_readAheadCacheMaxSizeMb=32
dbStorage_rocksDB_blockCacheSize=16777216
dbStorage_rocksDB_writeBufferSizeMB=4
dbStorage_rocksDB_sstSizeInMB=4
managedLedgerCacheSizeMB=64
managedLedgerDefaultEnsembleSize=1
managedLedgerDefaultWriteQuorum=1
managedLedgerDefaultAckQuorum=1
functionsWorkerEnabled=false
allowAutoTopicCreation=true
allowAutoTopicCreationType=non-partitioned
allowAutoSubscriptionCreation=true
brokerDeduplicationEnabled=true
# As Pulsar's own conf/standalone.conf and conf/bookkeeper.conf: the frame limit sits 10 KiB
# above maxMessageSize (5 MiB), so an entry near the limit, with its headers, still fits the
# bookie's frame; at 5 MiB exactly such an entry wedges the bookie ("Not enough non-faulty
# bookies") for the rest of the run.
maxMessageSize=5242880
nettyMaxFrameSizeBytes=5253120
loadManagerClassName=org.apache.pulsar.broker.loadbalance.NoopLoadManager
loadBalancerEnabled=false
transactionCoordinatorEnabled=false
webSocketServiceEnabled=false
brokerShutdownTimeoutMs=10000
# Python/C++ clients of any version are fine.
clientLibraryVersionCheckEnabled=false
EOF
}

append_tls_conf() {
  local dir="$1" tport="$2" hport="$3"
  cat >>"$dir/standalone.conf" <<EOF
brokerServicePortTls=$tport
webServicePortTls=$hport
tlsCertificateFilePath=$dir/tls/server.pem
tlsKeyFilePath=$dir/tls/server.key-pk8.pem
tlsTrustCertsFilePath=$dir/ca.pem
tlsAllowInsecureConnection=false
tlsRequireTrustedClientCertOnConnect=false
EOF
}

append_token_conf() {
  local dir="$1"
  cat >>"$dir/standalone.conf" <<EOF
authenticationEnabled=true
authenticationProviders=org.apache.pulsar.broker.authentication.AuthenticationProviderToken
tokenSecretKey=file://$dir/auth/secret.key
authorizationEnabled=false
superUserRoles=$ROLE
# The broker's own admin client (namespace setup) must authenticate too.
brokerClientAuthenticationPlugin=org.apache.pulsar.client.impl.auth.AuthenticationToken
brokerClientAuthenticationParameters=token:$(cat "$dir/auth/token")
EOF
}

write_log4j() {
  local dir="$1"
  cat >"$dir/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn" shutdownHook="disable">
  <Appenders>
    <File name="file" fileName="$dir/pulsar.log" append="true">
      <PatternLayout pattern="%d{ISO8601} [%t] %-5level %logger{36} - %msg%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
EOF
}

# ---------------------------------------------------------------- java

java_opts() {
  local dir="$1"
  local opts=(
    "-Xms$HEAP" "-Xmx$HEAP" -XX:MaxDirectMemorySize=512m
    -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError
    "-Djava.io.tmpdir=$dir/tmp"
    -Djava.net.preferIPv4Stack=true
    -Dio.netty.tryReflectionSetAccessible=true
    # Same --add-opens as Pulsar's bin/pulsar (BookKeeper CRC/fadvise,
    # Netty direct buffers, DNS resolver, GC metrics).
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.util.zip=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    --add-opens java.base/jdk.internal.misc=ALL-UNNAMED
    --add-opens java.base/sun.net=ALL-UNNAMED
    --add-opens java.management/sun.management=ALL-UNNAMED
    # Bookie/BK client resolve "metadata-store:" URIs through these drivers.
    -Dbookkeeper.metadata.bookie.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataBookieDriver
    -Dbookkeeper.metadata.client.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataClientDriver
    "-Dlog4j2.configurationFile=$dir/log4j2.xml"
    -Dlog4j.shutdownHookEnabled=false
    -Dlog4j2.is.webapp=false
  )
  printf '%s\n' "${opts[@]}"
}

# Start java detached from our session and stdio. The inner shell writes
# its own pid before exec'ing java, so DIR/pid is java's pid even if
# setsid has to fork.
# With "wipe" the standalone starts from empty metadata and ledgers; without
# it, it recovers what DIR/data holds. The bookie port is fixed per DIR
# because the bookie's identity (its cookie) includes it.
launch() {
  local dir="$1" lib="$2" bookie_port="$3" wipe="${4:-}"
  local -a opts
  mapfile -t opts < <(java_opts "$dir")
  local -a extra
  read -r -a extra <<<"${SHFN_PULSAR_JAVA_OPTS:-}"
  (
    cd "$dir"  # relative defaults (e.g. data/standalone/zookeeper) stay in DIR
    # shellcheck disable=SC2016  # expanded by the inner shell
    setsid bash -c 'echo $$ >"$0/pid"; exec "$@"' "$dir" \
      java "${opts[@]}" "${extra[@]}" -cp "$lib/*" "$MAIN_CLASS" \
      --config "$dir/standalone.conf" -nfw -nss ${wipe:+--wipe-data} \
      --metadata-dir "$dir/data/metadata" --bookkeeper-dir "$dir/data/bookkeeper" \
      --bookkeeper-port "$bookie_port" -a 127.0.0.1 \
      </dev/null >"$dir/stdout.log" 2>&1 &
  )
  local tries=50   # the pid file appears within milliseconds
  while ((tries-- > 0)); do
    [ -s "$dir/pid" ] && return 0
    sleep 0.1
  done
  die "java did not start (see $dir/stdout.log)"
}

# ---------------------------------------------------------------- readiness

# Ready = default namespace listed AND a topic can be created (which makes
# the broker open a managed ledger on the bookie, i.e. really serve).
check_ready() {
  local http="$1" token="$2" topic="$3" code
  admin_curl "$token" -f "$http/admin/v2/namespaces/public" 2>/dev/null |
    grep -q '"public/default"' || return 1
  code="$(admin_curl "$token" -o /dev/null -w '%{http_code}' -X PUT \
    "$http/admin/v2/persistent/public/default/$topic" 2>/dev/null)" || return 1
  # 204 created; 409 already exists (an earlier poll created it).
  [ "$code" = 204 ] || [ "$code" = 409 ]
}

check_tls() {
  local port="$1" ca="$2"
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$ca" \
    -verify_return_error </dev/null >/dev/null 2>&1
}

wait_ready() {
  local dir="$1" http="$2" token="$3" tport="$4"
  local topic="shfn-ready-$RANDOM$RANDOM" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    running_pid "$dir" >/dev/null || { log "broker process exited"; return 1; }
    if check_ready "$http" "$token" "$topic" &&
        { [ -z "$tport" ] || check_tls "$tport" "$dir/ca.pem"; }; then
      # Best effort: don't leave the probe topic behind for tests to see.
      admin_curl "$token" -o /dev/null -X DELETE \
        "$http/admin/v2/persistent/public/default/$topic?force=true" 2>/dev/null || true
      return 0
    fi
    sleep 0.5
  done
  log "not ready after ${START_TIMEOUT}s"
  return 1
}

# ---------------------------------------------------------------- commands

# One start attempt on fresh ports. Writes DIR/env on success; on failure
# stops the process (logs stay in DIR) and returns 1.
start_once() {
  local dir="$1" lib="$2" tls="$3" token_on="$4"

  # Fresh state each start: old data, certs, tokens and env are discarded.
  rm -rf "$dir/data" "$dir/tmp" "$dir/tls" "$dir/auth" "$dir/env" "$dir/pid" \
    "$dir/ca.pem" "$dir/pulsar.log" "$dir/stdout.log"
  mkdir -p "$dir/data" "$dir/tmp"

  local bport wport tport hport kport token=""
  read -r bport wport tport hport kport < <(free_ports 5)
  write_conf "$dir" "$bport" "$wport"
  if ((tls)); then
    gen_tls "$dir"
    append_tls_conf "$dir" "$tport" "$hport"
  else
    tport="" hport=""
  fi
  if ((token_on)); then
    gen_token "$dir"
    append_token_conf "$dir"
    token="$(cat "$dir/auth/token")"
  fi
  write_log4j "$dir"

  local t0=$SECONDS http="http://127.0.0.1:$wport"
  launch "$dir" "$lib" "$kport" wipe
  if ! wait_ready "$dir" "$http" "$token" "$tport"; then
    cmd_stop "$dir" >/dev/null 2>&1 || true
    return 1
  fi
  log "ready in $((SECONDS - t0))s (pid $(cat "$dir/pid"))"

  {
    echo "PULSAR_URL=pulsar://127.0.0.1:$bport"
    echo "PULSAR_HTTP=$http"
    if ((tls)); then
      echo "PULSAR_TLS_URL=pulsar+ssl://127.0.0.1:$tport"
      echo "PULSAR_HTTPS=https://127.0.0.1:$hport"
      echo "PULSAR_CA=$dir/ca.pem"
    fi
    if ((token_on)); then echo "PULSAR_TOKEN=$token"; fi
    echo "PULSAR_PID=$(cat "$dir/pid")"
    echo "PULSAR_LOG=$dir/pulsar.log"
    echo "PULSAR_BOOKIE_PORT=$kport"
  } >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
}

# A port picked by free_ports can be grabbed by another process before the
# JVM binds it; that failure is worth a retry on new ports.
bind_failed() {
  grep -qsE 'BindException|Address already in use' "$1/pulsar.log" "$1/stdout.log"
}

START_DIR="" START_CHILD=""
on_start_signal() {
  if [ -n "$START_CHILD" ]; then
    kill -TERM "$START_CHILD" 2>/dev/null || true
    wait "$START_CHILD" 2>/dev/null || true
  fi
  [ -z "$START_DIR" ] || cmd_stop "$START_DIR" >/dev/null 2>&1 || true
  exit 130
}

cmd_start() {
  local tls=0 token_on=0 dir=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --tls) tls=1 ;;
      --token) token_on=1 ;;
      -*) usage ;;
      *) [ -z "$dir" ] || usage; dir="$1" ;;
    esac
    shift
  done
  [ -n "$dir" ] || usage
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if running_pid "$dir" >/dev/null; then
    die "already running in $dir (pid $(cat "$dir/pid")); stop it first"
  fi

  local lib
  lib="$("$SCRIPTS/setup-pulsar.sh")"

  # Don't leave an orphan broker behind if we are interrupted mid-start.
  START_DIR="$dir"
  trap on_start_signal INT TERM HUP

  local attempt rc
  rm -f "$dir"/pulsar-attempt*.log
  for attempt in 1 2 3; do
    # Subshell with its own set -e (calling start_once from an if/&&/||
    # would silently disable errexit inside it), run in the background so
    # that `wait` returns at once when a trapped signal arrives.
    set +e
    (set -e; start_once "$dir" "$lib" "$tls" "$token_on") &
    START_CHILD=$!
    wait "$START_CHILD"
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
      trap - INT TERM HUP
      cat "$dir/env"
      return 0
    fi
    cmd_stop "$dir" >/dev/null 2>&1 || true   # whatever step failed
    bind_failed "$dir" && [ "$attempt" -lt 3 ] || break
    log "port clash (attempt $attempt, log kept as pulsar-attempt$attempt.log), retrying on new ports"
    mv "$dir/pulsar.log" "$dir/pulsar-attempt$attempt.log" 2>/dev/null || true
  done
  log "---- tail of $dir/pulsar.log ----"
  tail -n 60 "$dir/pulsar.log" >&2 2>/dev/null || true
  log "---- tail of $dir/stdout.log ----"
  tail -n 20 "$dir/stdout.log" >&2 2>/dev/null || true
  exit 1
}

cmd_stop() {
  local dir="$1" pid deadline
  dir="$(cd "$dir" 2>/dev/null && pwd)" || { log "no such dir"; return 0; }
  if ! pid="$(running_pid "$dir")"; then
    rm -f "$dir/pid"
    log "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$dir/pid"
  log "stopped"
}

cmd_restart() {
  local dir="$1" lib http token tport kport t0
  dir="$(cd "$dir" 2>/dev/null && pwd)" || die "no such dir: $1"
  [ -f "$dir/env" ] || die "nothing started in $dir (no env file)"
  http="$(env_get "$dir" PULSAR_HTTP)"
  token="$(env_get "$dir" PULSAR_TOKEN)"
  kport="$(env_get "$dir" PULSAR_BOOKIE_PORT)"
  tport="$(env_get "$dir" PULSAR_TLS_URL)"
  tport="${tport##*:}"
  lib="$("$SCRIPTS/setup-pulsar.sh")"
  cmd_stop "$dir"
  t0=$SECONDS
  launch "$dir" "$lib" "$kport"
  if ! wait_ready "$dir" "$http" "$token" "$tport"; then
    log "---- tail of $dir/pulsar.log ----"
    tail -n 60 "$dir/pulsar.log" >&2 2>/dev/null || true
    cmd_stop "$dir" >/dev/null 2>&1 || true
    exit 1
  fi
  sed -i "s/^PULSAR_PID=.*/PULSAR_PID=$(cat "$dir/pid")/" "$dir/env"
  log "restarted in $((SECONDS - t0))s (pid $(cat "$dir/pid"))"
}

cmd_status() {
  local dir="$1" pid http token
  dir="$(cd "$dir" 2>/dev/null && pwd)" || { echo "not running"; return 1; }
  if ! pid="$(running_pid "$dir")"; then
    echo "not running"
    return 1
  fi
  http="$(env_get "$dir" PULSAR_HTTP)"
  token="$(env_get "$dir" PULSAR_TOKEN)"
  if [ -n "$http" ] && admin_curl "$token" -f "$http/admin/v2/namespaces/public" 2>/dev/null |
      grep -q '"public/default"'; then
    echo "running (pid $pid) $http"
    return 0
  fi
  echo "starting or unhealthy (pid $pid)"
  return 1
}

main() {
  [ $# -ge 2 ] || usage
  local cmd="$1"; shift
  case "$cmd" in
    start) cmd_start "$@" ;;
    restart) [ $# -eq 1 ] || usage; cmd_restart "$1" ;;
    stop) [ $# -eq 1 ] || usage; cmd_stop "$1" ;;
    status) [ $# -eq 1 ] || usage; cmd_status "$1" ;;
    *) usage ;;
  esac
}

main "$@"
