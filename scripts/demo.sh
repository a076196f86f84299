#!/usr/bin/env bash
# The README's first command, for now: set up, build shfn, start Apache Pulsar standalone on
# loopback, and round-trip a message with `shfn produce` / `shfn consume`. (It becomes `shfn run`
# on the embedded broker once that exists.)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
cmake --preset default >/dev/null
cmake --build build -j"$(nproc)" --target shfn
dir="$(mktemp -d /tmp/shfn-demo.XXXXXX)"
trap 'bash scripts/pulsar-standalone.sh stop "$dir" >/dev/null 2>&1 || true' EXIT
echo "starting Apache Pulsar standalone (takes ~25 s)..." >&2
bash scripts/pulsar-standalone.sh start "$dir" >/dev/null
set -a; . "$dir/env"; set +a
export SHFN_URL="$PULSAR_URL"
./build/src/cli/shfn consume demo -s demo -n 1 --format json &
consumer=$!
sleep 1  # let the subscription exist before publishing (it starts at the latest message)
./build/src/cli/shfn produce demo -m "hello from shfn" -k greeting -p lang=en
wait "$consumer"
