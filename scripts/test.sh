#!/usr/bin/env bash
# Builds shfn and runs every test: clang-tidy's bug-finding checks over src/ (scripts/tidy.sh),
# a short run of every fuzz target (scripts/fuzz.sh), the unit tests under ASan/UBSan and TSan
# (scripts/sanitize.sh), then ctest: unit tests, the client against Apache Pulsar standalone
# (with TLS and token authentication on), the interop, function, chaos, image and Kubernetes
# suites. Starts the standalone once for the whole run and stops it on exit.
#
# Env: SHFN_FUZZ_SECONDS per fuzz target (default 15), SHFN_TEST_DIR (default: a fresh temp dir).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${SHFN_CACHE:-$HOME/.cache/shfn}"
venv="${SHFN_VENV:-$cache/venv}"
work="${SHFN_TEST_DIR:-$(mktemp -d /tmp/shfn-test.XXXXXX)}"

cmake --preset default -DSHFN_PYTHON="$venv/bin/python" >/dev/null
cmake --build build -j"$(nproc)"

# clang-tidy over src/ (any finding fails), every fuzz target for a short while (libFuzzer,
# clang), then the unit tests under the sanitizers.
bash scripts/tidy.sh
bash scripts/fuzz.sh "$work"
bash scripts/sanitize.sh

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
