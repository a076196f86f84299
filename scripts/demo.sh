#!/usr/bin/env bash
# The README's first command: set up what building needs, build shfn, and run the reverse
# function (examples/reverse) with `shfn run` on its embedded broker — nothing else to install:
# no JVM, no cluster. Sends a message with `shfn produce` and reads the reversed one back with
# `shfn consume`, then stops the function with SIGTERM (it drains and exits).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --build
cmake --preset default >/dev/null
cmake --build build -j"$(nproc)" --target shfn
shfn=./build/src/cli/shfn

data="$(mktemp -d /tmp/shfn-demo.XXXXXX)"
run_pid=""
trap '[ -z "$run_pid" ] || { kill "$run_pid" 2>/dev/null; wait "$run_pid" 2>/dev/null; }; rm -rf "$data"' EXIT
# Port 0 for the broker and the admin endpoints, so the demo never collides with anything;
# `shfn run examples/reverse/reverse.yaml` alone uses 127.0.0.1:6650 and 127.0.0.1:8081.
exec 3< <(exec "$shfn" run examples/reverse/reverse.yaml --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --data-dir "$data")
run_pid=$!
while read -r line <&3; do
  echo "$line" >&2
  case "$line" in
    "shfn broker ready on "*) export SHFN_URL="${line##* on }" ;;
    "shfn functions ready") break ;;
  esac
done

"$shfn" produce reverse-in -m "hello from shfn"
"$shfn" consume reverse-out -s demo -n 1 -p earliest
