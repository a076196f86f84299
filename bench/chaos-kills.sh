#!/usr/bin/env bash
# The kill scenarios of the chaos suite (tests/chaos) at length: the same tests ctest runs with a
# few kills each, here with N SIGKILLs per scenario (default 50):
#   - broker-kill/reconnect/{single,batched}: `shfn broker` killed under a load from the official
#     Python client, which keeps its producer and reconnects (batching off, then on);
#   - broker-kill/recreated: the same, the application making a new client and producer with the
#     same producer name on the restarted broker and resending what had no receipt;
#   - run-kill/effectively-once: `shfn run` (an EFFECTIVELY_ONCE function) killed under a load of
#     inputs, started again each time;
#   - broker-kill/effectively-once: the broker killed under a running EFFECTIVELY_ONCE function.
# Prints one line per scenario (kills, receipted inputs, messages or outputs read back, lost,
# duplicated, wall time) and a table; "deduped" counts the client's resends of messages the
# killed broker had stored without answering, which the restarted broker answered as
# duplicates. Exits non-zero when a scenario failed: a receipted message lost or one stored
# twice fails its test, as in CI. Kill points are random; each scenario prints its seed, and
# SHFN_CHAOS_SEED replays one.
#
#   bench/chaos-kills.sh [kills] [pytest -k expression, default: every kill scenario]
#
# Env: SHFN_BIN (the shfn binary; default: build/src/cli/shfn, built first), SHFN_VENV (the venv
#      with pulsar-client and pytest, default ~/.cache/shfn/venv), SHFN_CHAOS_SEED.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kills="${1:-50}"
select="${2:-kill_9}"
venv="${SHFN_VENV:-${SHFN_CACHE:-$HOME/.cache/shfn}/venv}"
if [ -z "${SHFN_BIN:-}" ]; then
  cmake --build build --target shfn >/dev/null
  export SHFN_BIN="$root/build/src/cli/shfn"
fi
seed=()
[ -z "${SHFN_CHAOS_SEED:-}" ] || seed=(--chaos-seed "$SHFN_CHAOS_SEED")

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "kills per scenario: $kills"
out="$(mktemp /tmp/shfn-chaos-kills.XXXXXX)"
trap 'rm -f "$out"' EXIT
started=$(date +%s)
set +e
"$venv/bin/python" -m pytest -q -s -p no:cacheprovider tests/chaos -k "$select" \
  --kills "$kills" "${seed[@]}" >"$out" 2>&1
status=$?
set -e
sed 's/^[.xsF]*//' "$out" | grep -E '^(chaos|kept)[: ]' || true
if [ "$status" -ne 0 ]; then
  echo "== pytest failed (exit $status); its output:"
  cat "$out"
fi

echo
awk '
  { sub(/^[.xsF]*/, "") }
  /^chaos: / {
    delete f
    for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (!("kills" in f)) next
    read = ("outputs" in f) ? f["outputs"] : f["read"]
    dropped = ("deduplicated" in f) ? f["deduplicated"] : "-"
    rows[++n] = sprintf("%-32s %6s %10s %10s %6s %10s %9s %8s", $2, f["kills"], f["receipted"],
                        read, f["lost"], f["duplicates"], dropped, f["wall"])
  }
  END {
    printf "%-32s %6s %10s %10s %6s %10s %9s %8s\n", "scenario", "kills", "receipted",
           "read back", "lost", "duplicates", "deduped", "wall"
    for (i = 1; i <= n; i++) print rows[i]
  }' "$out"
echo "total: $(( $(date +%s) - started )) s"
exit "$status"
