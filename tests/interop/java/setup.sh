#!/usr/bin/env bash
# Resolves everything the Java interop suite needs (the Pulsar Java client, JUnit, Maven's
# compiler and Surefire with its JUnit Platform provider, and the pulsar-client/pulsar-perf
# jars of scripts/setup-pulsar.sh), so that tests.cmake can run it with `mvn -o`.
#
# Idempotent: when an offline build already works it does no network work at all.
#
# Env:
#   SHFN_MVN   maven binary (default: mvn)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
MVN="${SHFN_MVN:-mvn}"

log() { echo "setup-java-interop: $*" >&2; }

# The CLI tests run pulsar-perf and pulsar-client from this lib dir.
bash "$root/scripts/setup-pulsar.sh" >/dev/null

tmp="$(mktemp -d /tmp/shfn-java-interop.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# A real run with a JUnit tag filter that no test has: Maven fetches every plugin and
# dependency, Surefire its JUnit Platform provider and launcher, and the forked JVM starts,
# yet no test runs (so no broker is needed).
probe() {
  "$MVN" -B -q "$@" -gs "$root/tools/maven/central-mirror.xml" -f "$here/pom.xml" test \
    -Dshfn.build.dir="$tmp/build" -Dgroups=shfn-setup-probe >"$tmp/mvn.log" 2>&1
}

if probe -o; then
  exit 0
fi
log "resolving the Java interop suite's dependencies with Maven..."
if ! probe; then
  tail -n 40 "$tmp/mvn.log" >&2
  log "error: maven resolve failed"
  exit 1
fi
probe -o || { tail -n 40 "$tmp/mvn.log" >&2; log "error: offline build still fails"; exit 1; }
