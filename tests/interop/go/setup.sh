#!/usr/bin/env bash
# Downloads the Go interop suite's modules (the official Apache Pulsar Go client, as go.mod and
# go.sum pin it) into the default module cache and compiles the suite once, so that later runs
# of `go test` (ctest's interop_go and interop_go_embedded) need no network and start quickly.
# Idempotent: quick when everything is already there. Called by scripts/setup.sh.
#
# Env: SHFN_GO, the go command (default: go on PATH, else /usr/local/go/bin/go).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "setup-go: $*" >&2; }

go="${SHFN_GO:-$(command -v go || true)}"
[ -n "$go" ] || [ ! -x /usr/local/go/bin/go ] || go=/usr/local/go/bin/go
if [ -z "$go" ]; then
  log "no go command (PATH, /usr/local/go/bin): the Go interop suite is not set up"
  exit 0
fi

cd "$here"
# -mod=readonly: go.mod and go.sum are the committed ones; nothing here may rewrite them.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
"$go" mod download
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# Builds the test binary (without running it: TestMain needs a broker), which also fills the build
# cache, the client's cgo zstd included.
"$go" test -c -o "$out/interop.test" .
"$go" vet ./...
log "$("$go" version), $(sed -n 's/^\tgithub.com\/apache\/pulsar-client-go \(v[^ ]*\).*/pulsar-client-go \1/p' go.mod)"
