#!/usr/bin/env bash
# A branch's filter: passes the event on (its data, unchanged) when the minute of its time has
# the parity $PARITY (even or odd), and drops it otherwise by printing nothing.
set -euo pipefail

# SHFN_CE_TIME is RFC 3339: 2026-11-21T09:04:00Z. The minute is characters 14-15.
minute=${SHFN_CE_TIME:14:2}
if (( 10#$minute % 2 == 0 )); then parity=even; else parity=odd; fi

if [[ $parity == "$PARITY" ]]; then
  cat
fi
