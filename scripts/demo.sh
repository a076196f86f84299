#!/usr/bin/env bash
# The README's first command: set up what building needs, build shfn, start the embedded broker
# (`shfn broker`, nothing else to install: no JVM, no cluster) and round-trip a message through
# it with `shfn produce` / `shfn consume`. (It becomes `shfn run` with a function next.)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --build
cmake --preset default >/dev/null
cmake --build build -j"$(nproc)" --target shfn
shfn=./build/src/cli/shfn

data="$(mktemp -d /tmp/shfn-demo.XXXXXX)"
broker_pid=""
trap '[ -z "$broker_pid" ] || kill "$broker_pid" 2>/dev/null; rm -rf "$data"' EXIT
exec 3< <(exec "$shfn" broker --listen 127.0.0.1:0 --data-dir "$data" --admin off)
broker_pid=$!
read -r ready <&3
echo "$ready" >&2
export SHFN_URL="${ready##* on }"

"$shfn" produce demo -m "hello from shfn" -k greeting -p lang=en
"$shfn" consume demo -s demo -n 1 -p earliest --format json
