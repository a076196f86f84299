#!/usr/bin/env bash
# Downloads the CloudEvents Go modules modules.txt names into the default module cache, from the
# Go module proxy, so that the tests reading them run offline: the CESQL TCK (the YAML cases of
# github.com/cloudevents/sdk-go/sql/v2, read by ctest's cesql_tck). Idempotent. Called by
# scripts/setup.sh.
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
echo "setup-cloudevents: $(paste -sd' ' "$here/modules.txt")" >&2
