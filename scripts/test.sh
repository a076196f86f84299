#!/usr/bin/env bash
# Builds shfn and runs every test: unit tests, the client against Apache Pulsar standalone
# (with TLS and token authentication on), the Python interop suite, and a short fuzzing run of
# the frame decoder. Starts the standalone once for the whole run and stops it on exit.
#
# Env: SHFN_FUZZ_SECONDS (default 30), SHFN_TEST_DIR (default: a fresh temp dir).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${SHFN_CACHE:-$HOME/.cache/shfn}"
venv="${SHFN_VENV:-$cache/venv}"
work="${SHFN_TEST_DIR:-$(mktemp -d /tmp/shfn-test.XXXXXX)}"

cmake --preset default -DSHFN_PYTHON="$venv/bin/python" >/dev/null
cmake --build build -j"$(nproc)"

# Fuzz the frame decoder for a short while (libFuzzer, clang).
cmake --preset fuzz >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_decode_frame
mkdir -p "$work/fuzz-corpus"
./build-fuzz/src/wire/fuzz_decode_frame -max_total_time="${SHFN_FUZZ_SECONDS:-30}" \
  -max_len=4096 "$work/fuzz-corpus" 2>"$work/fuzz.log" || { tail -50 "$work/fuzz.log"; exit 1; }
echo "fuzz: $(grep -c . "$work/fuzz.log") log lines, no crash" >&2

pulsar_dir="$work/pulsar"
stop_pulsar() { bash scripts/pulsar-standalone.sh stop "$pulsar_dir" >/dev/null 2>&1 || true; }
trap stop_pulsar EXIT
bash scripts/pulsar-standalone.sh start --tls --token "$pulsar_dir" >/dev/null
set -a
# shellcheck disable=SC1091
. "$pulsar_dir/env"
set +a
export SHFN_PULSAR_DIR="$pulsar_dir"

ctest --test-dir build --output-on-failure -j2
