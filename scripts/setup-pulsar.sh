#!/usr/bin/env bash
# Resolve Apache Pulsar (standalone broker + pulsar-perf) from Maven Central
# into a lib dir under $SHFN_CACHE, and print that lib dir on stdout.
#
# Idempotent: the lib dir is keyed on a hash of tools/pulsar/pom.xml and
# marked complete with a stamp file, so a second run does no Maven work.
#
# Env:
#   SHFN_CACHE   cache root (default: $HOME/.cache/shfn)
#   SHFN_MVN     maven binary (default: mvn)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/tools/pulsar/pom.xml"
SHFN_CACHE="${SHFN_CACHE:-$HOME/.cache/shfn}"
MVN="${SHFN_MVN:-mvn}"

log() { echo "setup-pulsar: $*" >&2; }
die() { log "error: $*"; exit 1; }

pom_hash() {
  sha256sum "$POM" | cut -c1-16
}

# Resolve into a temp dir and rename it into place, so an interrupted run
# never leaves a half-filled lib dir behind the stamp file.
resolve() {
  local base="$1" tmp
  tmp="$(mktemp -d "$base/.tmp.XXXXXX")"
  log "resolving Pulsar jars with Maven (first run downloads ~270 MB)..."
  if ! "$MVN" -q -B -gs "$ROOT/tools/maven/central-mirror.xml" -f "$POM" package \
      -Dshfn.lib.dir="$tmp/lib" >"$tmp/mvn.log" 2>&1; then
    tail -n 40 "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    die "maven resolve failed"
  fi
  if ! ls "$tmp/lib"/pulsar-broker-*.jar >/dev/null 2>&1; then
    rm -rf "$tmp"
    die "no pulsar-broker jar resolved"
  fi
  rm -rf "${base:?}/lib"
  mv "$tmp/lib" "$base/lib"
  rm -rf "$tmp"
  cp "$POM" "$base/pom.xml"   # record what this dir was built from
  touch "$base/.complete"
}

main() {
  [ -f "$POM" ] || die "missing $POM"
  local base
  base="$SHFN_CACHE/pulsar/$(pom_hash)"
  mkdir -p "$base"
  if [ ! -f "$base/.complete" ]; then
    # Serialize concurrent first runs (e.g. parallel test jobs).
    exec 9>"$base/.lock"
    flock 9
    [ -f "$base/.complete" ] || resolve "$base"
    exec 9>&-
  fi
  echo "$base/lib"
}

main "$@"
