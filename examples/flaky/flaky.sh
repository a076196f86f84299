#!/usr/bin/env bash
# A function that fails on purpose, to show retries and the dead-letter topic:
#   "poison..."  always fails: after maxMessageRetries retries it goes to the dead-letter topic;
#   "flaky..."   fails on its first delivery and succeeds when the broker redelivers it;
#   anything else succeeds at once.
payload=$(cat)
case "$payload" in
  poison*)
    echo "cannot digest '$payload'" >&2
    exit 3 ;;
  flaky*)
    if [ "${SHFN_REDELIVERY_COUNT:-0}" -eq 0 ]; then
      echo "transient failure, try again" >&2
      exit 75
    fi ;;
esac
printf 'ok: %s' "$payload"
