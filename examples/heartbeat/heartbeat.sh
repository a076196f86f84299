#!/usr/bin/env bash
# Knative's heartbeats sample as a command: every PERIOD seconds, one CloudEvent of type
# dev.knative.eventing.samples.heartbeat on stdout, as a line of JSON (structured mode), which
# shfn publishes as it is. A plain line (not a CloudEvent) would become an event's data instead.
set -euo pipefail
period=10
for arg in "$@"; do
  case "$arg" in
    --period=*) period="${arg#--period=}" ;;
    *) echo "heartbeat: unknown argument $arg (expected --period=SECONDS)" >&2; exit 2 ;;
  esac
done
source="/apis/v1/namespaces/default/containersources/${SHFN_SOURCE:-heartbeat}"
echo "sending a heartbeat every ${period}s; K_SINK=${K_SINK:-none}" >&2
for ((n = 1; ; n++)); do
  printf '{"specversion":"1.0","id":"%s-%d","source":"%s","type":"dev.knative.eventing.samples.heartbeat","datacontenttype":"application/json","data":{"id":%d,"label":"%s"}}\n' \
    "$(hostname)" "$n" "$source" "$n" "${POD_NAME:-}"
  sleep "$period"
done
