#!/usr/bin/env bash
# Many topics on one `shfn broker` under the usual descriptor limit (1,024): N topics with one
# message each through the official Python client, then a sample read back; prints descriptors,
# RSS and disk use as it goes (bench/many_topics.py). Asserts nothing but the data read back.
#
#   bench/run-many-topics.sh [topics] [writer_threads]
#
# Env: SHFN_BUILD (build dir, default build), SHFN_VENV (default ~/.cache/shfn/venv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${SHFN_BUILD:-build}"
venv="${SHFN_VENV:-$HOME/.cache/shfn/venv}"
cmake --build "$build" --target shfn >/dev/null
SHFN_BIN="$build/src/cli/shfn" exec "$venv/bin/python" bench/many_topics.py \
  --topics "${1:-100000}" --threads "${2:-8}"
