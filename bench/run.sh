#!/usr/bin/env bash
# Side-by-side client benchmark: the shfn client and the official Python client against one
# Apache Pulsar standalone, in the same run. Prints figures; asserts nothing.
#
#   bench/run.sh [messages] [payload_bytes] [rate]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${SHFN_VENV:-${SHFN_CACHE:-$HOME/.cache/shfn}/venv}"
cmake --build build --target client_bench >/dev/null
dir="$(mktemp -d /tmp/shfn-bench.XXXXXX)"
trap 'bash scripts/pulsar-standalone.sh stop "$dir" >/dev/null 2>&1 || true' EXIT
bash scripts/pulsar-standalone.sh start "$dir" >/dev/null
. "$dir/env"
echo "machine: $(nproc) cores; broker: Apache Pulsar standalone (fsync on bookie journal)"
./build/bench/client_bench "$PULSAR_URL" "$@"
"$venv/bin/python" bench/python_client_bench.py "$PULSAR_URL" "$@"
