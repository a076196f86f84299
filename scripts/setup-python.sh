#!/usr/bin/env bash
# Create (once) a Python venv with the official Apache Pulsar Python client
# and pytest, and print the venv path on stdout.
#
# Idempotent: a stamp file records the requirement set the venv was built
# with; a second run with the same requirements does nothing.
#
# Env:
#   SHFN_CACHE   cache root (default: $HOME/.cache/shfn)
#   SHFN_VENV    venv path (default: $SHFN_CACHE/venv)
#   SHFN_PYTHON  interpreter to build the venv from (default: python3)
set -euo pipefail

SHFN_CACHE="${SHFN_CACHE:-$HOME/.cache/shfn}"
VENV="${SHFN_VENV:-$SHFN_CACHE/venv}"
PYTHON="${SHFN_PYTHON:-python3}"

# Pinned: pulsar-client 3.13.0 ships a manylinux_2_28 x86_64 wheel for
# CPython 3.11 (binary only, so pip never tries to build the C++ client).
# fastavro is its Avro support (the extra "avro"), which the schema tests use.
# cloudevents is the CloudEvents Python SDK: the broker tests send and receive events with it.
REQUIREMENTS=(
  "pulsar-client==3.13.0"
  "fastavro==1.13.1"
  "pytest==8.4.2"
  "cloudevents==2.2.0"
)

log() { echo "setup-python: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Key of what the venv should contain: interpreter version + requirements.
stamp_key() {
  { "$PYTHON" -c 'import sys; print(sys.version)'; printf '%s\n' "${REQUIREMENTS[@]}"; } |
    sha256sum | cut -c1-16
}

build() {
  local key="$1"
  log "creating venv $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    --only-binary=pulsar-client,fastavro "${REQUIREMENTS[@]}" >&2
  # Fail here rather than in a test if the native module can't load.
  "$VENV/bin/python" -c 'import pulsar, pytest, fastavro, cloudevents' ||
    die "venv built but 'import pulsar' fails"
  echo "$key" >"$VENV/.shfn-stamp"
}

main() {
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
  local key
  key="$(stamp_key)"
  if [ "$(cat "$VENV/.shfn-stamp" 2>/dev/null)" != "$key" ]; then
    mkdir -p "$(dirname "$VENV")"
    # Serialize concurrent first runs.
    exec 9>"$VENV.lock"
    flock 9
    [ "$(cat "$VENV/.shfn-stamp" 2>/dev/null)" = "$key" ] || build "$key"
    exec 9>&-
  fi
  echo "$VENV"
}

main "$@"
