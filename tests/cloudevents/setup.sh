#!/usr/bin/env bash
# Downloads the CloudEvents Go modules modules.txt names into the default module cache, from the
# Go module proxy, so that the tests reading them run offline: the CESQL TCK (the YAML cases of
# github.com/cloudevents/sdk-go/sql/v2, read by ctest's cesql_tck), and the CloudEvents
# conformance tool (github.com/cloudevents/conformance), whose `cloudevents` command is built into
# SHFN_CACHE/cloudevents-conformance for tests/functions/test_conformance.py, beside a copy of
# the event files it comes with (yaml/).
# Idempotent. Called by scripts/setup.sh.
#
# Env: SHFN_GO, the go command (default: go on PATH, else /usr/local/go/bin/go).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
go="${SHFN_GO:-$(command -v go || echo /usr/local/go/bin/go)}"
# Outside any module, `go mod download MODULE@VERSION` only fills the cache (checksums verified).
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
while read -r module; do
  [ -n "$module" ] && "$go" mod download "$module"
done <"$here/modules.txt"
# Built inside the downloaded module, by its own go.mod and go.sum (`go install MODULE@VERSION`
# would ask the proxy for the module's version list, which it does not serve).
conformance="$("$go" env GOMODCACHE)/$(grep '^github.com/cloudevents/conformance@' "$here/modules.txt")"
tool="${SHFN_CACHE:-$HOME/.cache/shfn}/cloudevents-conformance"
mkdir -p "$tool"
(cd "$conformance" && "$go" build -o "$tool/cloudevents" ./cmd/cloudevents)
rm -rf "$tool/yaml" && cp -r "$conformance/yaml" "$tool/yaml" && chmod -R u+w "$tool/yaml"
echo "setup-cloudevents: $(paste -sd' ' "$here/modules.txt")" >&2
